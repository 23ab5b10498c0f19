// An image registry setting: the start of an image reference, host[:port] and an
// optional path, below which a mirror serves the upstream images under their own paths.

// The grammar of distribution/reference: a domain, then lower-case path components.
const domainPart = "(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])";
const pathPart = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const registry = new RegExp(`^${domainPart}(?:\\.${domainPart})*(?::\\d{1,5})?(?:/${pathPart})*$`);

export function isImageRegistry(value: string): boolean {
    return registry.test(value);
}

/** The value with a URL scheme and trailing slashes dropped, when that makes it a registry. */
export function asImageRegistry(value: string): string | undefined {
    const cleaned = value
        .trim()
        .replace(/^[a-z]+:\/\//, "")
        .replace(/\/+$/, "");
    return isImageRegistry(cleaned) ? cleaned : undefined;
}
