package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// policyLauncher starts a Node.js policy pack: `pulumi-analyzer-policy <engine> <pack dir>`
// (scripts/tools/pulumi-analyzer-policy.sh links it into .tools/bin).
const policyLauncher = "pulumi-analyzer-policy"

// RunPlugin runs a plugin written in Node.js. The engine asks for it when a
// `--policy-pack` folder holds a PulumiPolicy.yaml with `runtime: nodejs`; the
// plugin's output is streamed back, since the engine reads its port from it.
func (h *languageHost) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	if req.GetKind() != "analyzer" {
		return status.Errorf(codes.Unimplemented, "this language host runs only policy packs as plugins, not %q", req.GetKind())
	}
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	launcher, err := findPolicyLauncher()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(server.Context(), launcher, append(req.GetArgs(), dir)...)
	cmd.Dir = dir
	cmd.Env = req.GetEnv()
	if len(cmd.Env) == 0 {
		cmd.Env = os.Environ()
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", launcher, err)
	}
	var mu sync.Mutex // a gRPC stream takes one Send at a time
	send := func(r *pulumirpc.RunPluginResponse) error { mu.Lock(); defer mu.Unlock(); return server.Send(r) }
	var wg sync.WaitGroup
	wg.Add(2)
	go forward(&wg, stdout, func(b []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}})
	})
	go forward(&wg, stderr, func(b []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}})
	})
	wg.Wait()
	code := 0
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return err
		}
		code = exit.ExitCode()
	}
	return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
}

// forward sends what r yields, chunk by chunk, until it ends.
func forward(wg *sync.WaitGroup, r io.Reader, send func([]byte) error) {
	defer wg.Done()
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			_ = send(append([]byte(nil), buf[:n]...))
		}
		if err != nil {
			return
		}
	}
}

// findPolicyLauncher prefers the launcher installed beside this host, then PATH.
func findPolicyLauncher() (string, error) {
	if self, err := os.Executable(); err == nil {
		if resolved, err := filepath.EvalSymlinks(self); err == nil {
			beside := filepath.Join(filepath.Dir(resolved), policyLauncher)
			if st, err := os.Stat(beside); err == nil && !st.IsDir() {
				return beside, nil
			}
		}
	}
	if p, err := exec.LookPath(policyLauncher); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found beside the language host or on PATH: run scripts/tools.sh pulumi", policyLauncher)
}
