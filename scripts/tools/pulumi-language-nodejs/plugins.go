package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// GetRequiredPlugins lists the resource providers that installed packages
// declare with `"pulumi": {"resource": true}` in their package.json, so the
// engine can check the plugin cache before the program runs.
func (h *languageHost) GetRequiredPlugins(
	_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	modules := findNodeModules(dir)
	if modules == "" {
		return &pulumirpc.GetRequiredPluginsResponse{}, nil
	}
	var plugins []*pulumirpc.PluginDependency
	for _, pkgDir := range packageDirs(modules) {
		if dep := pluginOf(filepath.Join(pkgDir, "package.json")); dep != nil {
			plugins = append(plugins, dep)
		}
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// findNodeModules walks up from dir to the nearest node_modules folder.
func findNodeModules(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, "node_modules")
		if st, err := os.Stat(candidate); err == nil && st.IsDir() {
			return candidate
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// packageDirs returns node_modules' top-level packages, scoped ones included.
// npm installs flat, so providers sit at this level.
func packageDirs(modules string) []string {
	entries, _ := os.ReadDir(modules)
	var dirs []string
	for _, e := range entries {
		p := filepath.Join(modules, e.Name())
		if strings.HasPrefix(e.Name(), "@") {
			scoped, _ := os.ReadDir(p)
			for _, s := range scoped {
				dirs = append(dirs, filepath.Join(p, s.Name()))
			}
		} else if !strings.HasPrefix(e.Name(), ".") {
			dirs = append(dirs, p)
		}
	}
	return dirs
}

type packageJSON struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Pulumi  struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

// pluginOf reads one package.json; nil when the package ships no provider.
func pluginOf(path string) *pulumirpc.PluginDependency {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var p packageJSON
	if json.Unmarshal(b, &p) != nil || !p.Pulumi.Resource {
		return nil
	}
	name := p.Pulumi.Name
	if name == "" {
		name = strings.TrimPrefix(strings.TrimPrefix(p.Name, "@pulumi/"), "@")
	}
	version := p.Pulumi.Version
	if version == "" {
		version = p.Version
	}
	if version == "" || name == "" {
		return nil
	}
	if !strings.HasPrefix(version, "v") {
		version = "v" + version
	}
	return &pulumirpc.PluginDependency{Name: name, Kind: "resource", Version: version, Server: p.Pulumi.Server}
}
