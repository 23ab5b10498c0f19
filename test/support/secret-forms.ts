// The shapes a secret takes when it leaks into state, outputs, logs or files:
// not only as itself, but base64-encoded (a Kubernetes Secret's data, an HTTP
// Basic header), JSON-escaped (a PEM inside a JSON document has "\n" for its
// line breaks), or escaped twice (JSON inside a JSON string, as in a stack
// export). A check that greps only for PEM lines misses all of those.

/** Shorter pieces than this could match by chance. */
const minimum = 12;

/**
 * Substrings that any text holding the secret in one of those forms contains.
 * Base64 depends on where the secret starts within a 3-byte group, so it is
 * computed for each of the three alignments, from whole groups only.
 */
export function secretForms(secret: string): string[] {
    const forms = new Set<string>([secret]);
    // Each line of a multi-line secret (a PEM body) on its own: re-wrapping keeps the lines.
    for (const line of secret.split("\n")) if (line.length >= minimum && !line.startsWith("-----")) forms.add(line);
    const bytes = Buffer.from(secret);
    for (let shift = 0; shift < 3; shift++) {
        const aligned = bytes.subarray(shift);
        const whole = aligned.subarray(0, aligned.length - (aligned.length % 3));
        forms.add(whole.toString("base64"));
        forms.add(whole.toString("base64url"));
    }
    const once = JSON.stringify(secret).slice(1, -1);
    forms.add(once);
    forms.add(JSON.stringify(once).slice(1, -1));
    return [...forms].filter((f) => f.length >= minimum);
}

/** The names of the secrets found in text, in any of their forms. */
export function secretsIn(text: string, secrets: Record<string, string>): string[] {
    return Object.entries(secrets)
        .filter(([, secret]) => secret && secretForms(secret).some((form) => text.includes(form)))
        .map(([name]) => name);
}
