/**
 * Fresh API certificates per sandbox start (sandbox.md §4.1, ADR 0010): an EC P-256 self-signed leaf
 * (default), or a sandbox root CA (`CN=Proxmox Virtual Environment`, `O=PVE Cluster Manager CA`) with a
 * leaf it signed, as real PVE serves; plus impostors with the same subject and a different key. The
 * fingerprint is SHA-256 over the leaf DER, as colon hex and as the product's `SHA256:<b64>` pin.
 */
import * as Effect from "effect/Effect"
import { createHash, X509Certificate } from "node:crypto"
import { generate } from "selfsigned"

/** A certificate the HTTPS listener serves. */
export interface ServedCertificate {
  readonly certPem: string
  readonly keyPem: string
  /** The CA that signed the leaf (`ca` mode only). */
  readonly caPem?: string
  /** `AB:CD:…` upper-case colon hex of SHA-256 over the leaf DER (the `/nodes` `ssl_fingerprint` form). */
  readonly sha256Colon: string
  /** `SHA256:<unpadded base64>` of the same digest (the product's pin form). */
  readonly pin: string
}

/** Certificate mode: a self-signed leaf, or a leaf signed by a sandbox root CA. */
export type CertificateMode = "self-signed" | "ca"

/** Both fingerprint forms of a PEM certificate. */
export const fingerprintOf = (certPem: string): { readonly sha256Colon: string; readonly pin: string } => {
  const der = new X509Certificate(certPem).raw
  const digest = createHash("sha256").update(der).digest()
  return {
    sha256Colon: [...digest].map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join(":"),
    pin: `SHA256:${digest.toString("base64").replace(/=+$/, "")}`
  }
}

const leafSubject = (node: string) => [
  { name: "commonName", value: `${node}.local` },
  { name: "organizationName", value: "Proxmox Virtual Environment" },
  { shortName: "OU", value: "PVE Cluster Node" }
]

const leafExtensions = (node: string) => [
  { name: "basicConstraints" as const, cA: false },
  { name: "keyUsage" as const, digitalSignature: true, keyEncipherment: true, nonRepudiation: true },
  { name: "extKeyUsage" as const, serverAuth: true },
  {
    name: "subjectAltName" as const,
    altNames: [
      { type: 2 as const, value: node },
      { type: 2 as const, value: `${node}.local` },
      { type: 2 as const, value: "localhost" },
      { type: 7 as const, ip: "127.0.0.1" },
      { type: 7 as const, ip: "::1" }
    ]
  }
]

/** Generates a fresh certificate (new key every call; same subject each time, so a second call is an impostor). */
export const generateCertificate = (options: { readonly node?: string; readonly mode?: CertificateMode } = {}): Effect.Effect<ServedCertificate> =>
  Effect.promise(async () => {
    const node = options.node ?? "pve"
    const now = new Date(Date.now() - 86400_000)
    const notAfterDate = new Date(now.getTime() + 2 * 365 * 86400_000)
    if (options.mode === "ca") {
      const ca = await generate(
        [
          { name: "commonName", value: "Proxmox Virtual Environment" },
          { shortName: "OU", value: "sandbox-ca" },
          { name: "organizationName", value: "PVE Cluster Manager CA" }
        ],
        {
          keyType: "ec",
          curve: "P-256",
          algorithm: "sha256",
          notBeforeDate: now,
          notAfterDate: new Date(now.getTime() + 10 * 365 * 86400_000),
          extensions: [
            { name: "basicConstraints", cA: true, critical: true },
            { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true }
          ]
        }
      )
      const leaf = await generate(leafSubject(node), {
        keyType: "ec",
        curve: "P-256",
        algorithm: "sha256",
        notBeforeDate: now,
        notAfterDate,
        extensions: leafExtensions(node),
        ca: { key: ca.private, cert: ca.cert }
      })
      return { certPem: leaf.cert, keyPem: leaf.private, caPem: ca.cert, ...fingerprintOf(leaf.cert) }
    }
    const leaf = await generate(leafSubject(node), {
      keyType: "ec",
      curve: "P-256",
      algorithm: "sha256",
      notBeforeDate: now,
      notAfterDate,
      extensions: leafExtensions(node)
    })
    return { certPem: leaf.cert, keyPem: leaf.private, ...fingerprintOf(leaf.cert) }
  })
