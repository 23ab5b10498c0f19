// The small charts the e2e test serves in place of the upstream ones (which
// cannot be reached here): same names and the versions the stack settings pin.
// No kubelet runs, so Helm's wait would never see a Pod become ready: the
// charts hold only objects that are ready as soon as the API server stores
// them (CRDs, ConfigMaps, ServiceAccounts). Each records its rendered values
// in a ConfigMap, so the test can see which settings reached the chart. CRDs
// sit in templates/ (not crds/) so that uninstalling the release removes them.
import { chartDefaults } from "../../stacks/defaults";
import type { ChartFiles } from "./helm-repo";

/** A namespaced or cluster-scoped CRD that accepts any spec. */
function crd(group: string, kind: string, plural: string, scope: "Namespaced" | "Cluster", version = "v1"): string {
    return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${plural}.${group}
spec:
  group: ${group}
  scope: ${scope}
  names: { kind: ${kind}, plural: ${plural}, singular: ${kind.toLowerCase()}, listKind: ${kind}List }
  versions:
    - name: ${version}
      served: true
      storage: true
      subresources: { status: {} }
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`;
}

/** A ConfigMap `<name>-test-chart` in the release namespace holding the given template expressions. */
function valuesConfigMap(name: string, data: Record<string, string>): string {
    const lines = Object.entries(data).map(([k, v]) => `  ${k}: {{ ${v} | quote }}`);
    return `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}-test-chart
  namespace: {{ .Release.Namespace }}
  labels: { app.kubernetes.io/managed-by: {{ .Release.Service }}, app.kubernetes.io/instance: {{ .Release.Name }} }
data:
  chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
${lines.join("\n")}
`;
}

const serviceAccount = (name: string) => `apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${name}
  namespace: {{ .Release.Namespace }}
`;

export function testCharts(versions = {
    fluxOperator: chartDefaults.fluxOperator.version,
    kyverno: chartDefaults.kyverno.version,
    certManager: chartDefaults.certManager.version,
}): ChartFiles[] {
    return [
        {
            name: "flux-operator",
            version: versions.fluxOperator,
            files: {
                "templates/crd-fluxinstances.yaml": crd("fluxcd.controlplane.io", "FluxInstance", "fluxinstances", "Namespaced"),
                "templates/serviceaccount.yaml": serviceAccount("flux-operator"),
                "templates/configmap.yaml": valuesConfigMap("flux-operator", {}),
            },
        },
        {
            name: "kyverno",
            version: versions.kyverno,
            files: {
                "values.yaml": "admissionController: { replicas: 1 }\nbackgroundController: { replicas: 1 }\n",
                "templates/crd-clusterpolicies.yaml": crd("kyverno.io", "ClusterPolicy", "clusterpolicies", "Cluster"),
                "templates/serviceaccount.yaml": serviceAccount("kyverno-admission-controller"),
                "templates/configmap.yaml": valuesConfigMap("kyverno", {
                    admissionReplicas: ".Values.admissionController.replicas",
                    backgroundReplicas: ".Values.backgroundController.replicas",
                }),
            },
        },
        {
            name: "cert-manager",
            version: versions.certManager,
            files: {
                // Only the current key installs the CRDs here (the real chart still honours the deprecated
                // installCRDs), so the e2e's CRD check proves the program sets crds.enabled.
                "values.yaml": "installCRDs: false\ncrds: { enabled: false }\n",
                "templates/crds.yaml": `{{- if .Values.crds.enabled }}\n${crd("cert-manager.io", "Certificate", "certificates", "Namespaced")}{{- end }}\n`,
                "templates/serviceaccount.yaml": serviceAccount("cert-manager"),
                "templates/configmap.yaml": valuesConfigMap("cert-manager", { crdsEnabled: ".Values.crds.enabled", installCRDs: ".Values.installCRDs" }),
            },
        },
    ];
}
