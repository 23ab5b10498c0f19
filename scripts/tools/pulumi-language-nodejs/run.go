package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// exitBail is the exit code @pulumi/pulumi's run script uses after it has
// already shown the user an error: the engine must not print another.
const exitBail = 32

// Run starts `node <@pulumi/pulumi/cmd/run> [flags] <program> [args]` and
// waits for it. The program's output goes to our stdout and stderr, which
// the engine forwards to the user.
func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	programDir := info.GetProgramDirectory()
	if programDir == "" {
		programDir = req.GetPwd()
	}
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = req.GetProgram() //nolint:staticcheck // older engines
	}
	if entry == "" {
		entry = "."
	}

	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the PATH: %w", err)
	}
	runScript, err := findRunScript(programDir)
	if err != nil {
		return nil, err
	}

	opts := info.GetOptions().AsMap()
	args := nodeArgs(opts)
	args = append(args, runScript)
	args = append(args, runFlags(req, h.engineAddress)...)
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	env, err := runEnv(req, opts)
	if err != nil {
		return nil, err
	}

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = programDir
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if exit.ExitCode() == exitBail {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exit.ExitCode())}, nil
		}
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// findRunScript locates @pulumi/pulumi/cmd/run from the program's node_modules,
// so the program runs with the SDK version it was installed with.
func findRunScript(programDir string) (string, error) {
	if p := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH"); p != "" {
		return p, nil
	}
	modules := findNodeModules(programDir)
	if modules != "" {
		p := filepath.Join(modules, "@pulumi", "pulumi", "cmd", "run")
		if _, err := os.Stat(filepath.Join(p, "index.js")); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("@pulumi/pulumi is not installed for the program in %s: run npm install", programDir)
}

// nodeArgs are the runtime option `nodeargs` (Pulumi.yaml), split on spaces.
func nodeArgs(opts map[string]any) []string {
	s, _ := opts["nodeargs"].(string)
	return strings.Fields(s)
}

// runFlags are the flags @pulumi/pulumi/cmd/run reads; they must come before
// the program path because it stops parsing at the first positional argument.
func runFlags(req *pulumirpc.RunRequest, engine string) []string {
	flags := []string{"--monitor=" + req.GetMonitorAddress()}
	add := func(name, value string) {
		if value != "" {
			flags = append(flags, "--"+name+"="+value)
		}
	}
	add("engine", engine)
	add("project", req.GetProject())
	add("stack", req.GetStack())
	add("organization", req.GetOrganization())
	add("pwd", req.GetPwd())
	add("root-directory", req.GetInfo().GetRootDirectory())
	if req.GetParallel() > 1 {
		add("parallel", strconv.Itoa(int(req.GetParallel())))
	}
	if req.GetDryRun() {
		flags = append(flags, "--dry-run")
	}
	return flags
}

// runEnv passes config the way the Node.js SDK reads it (PULUMI_CONFIG as a
// JSON object, PULUMI_CONFIG_SECRET_KEYS as a JSON array) plus TypeScript
// settings from the runtime options.
func runEnv(req *pulumirpc.RunRequest, opts map[string]any) ([]string, error) {
	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secrets, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	typescript := true
	if v, ok := opts["typescript"].(bool); ok {
		typescript = v
	}
	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secrets),
		"PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(typescript),
	)
	if ts, ok := opts["tsconfig"].(string); ok && ts != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+ts)
	}
	return env, nil
}
