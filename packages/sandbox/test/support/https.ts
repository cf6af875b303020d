/** Minimal HTTPS client for socket tests: pins nothing itself but reports the peer certificate fingerprint. */
import * as https from "node:https"

export interface RawResponse {
  readonly status: number
  readonly reason: string
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
  readonly fingerprint256: string | undefined
}

export const request = (
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: { id: string; secret: string }; body?: Record<string, string | string[]>; headers?: Record<string, string>; timeoutMs?: number } = {}
): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const url = new URL(baseUrl + path)
    let body: string | undefined
    if (options.body) {
      const params = new URLSearchParams()
      for (const [k, v] of Object.entries(options.body)) for (const x of Array.isArray(v) ? v : [v]) params.append(k, x)
      body = params.toString()
    }
    const req = https.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        rejectUnauthorized: false,
        agent: false,
        headers: {
          ...(options.token ? { Authorization: `PVEAPIToken=${options.token.id}=${options.token.secret}` } : {}),
          ...(body !== undefined ? { "Content-Type": "application/x-www-form-urlencoded", "Content-Length": String(Buffer.byteLength(body)) } : {}),
          ...options.headers
        },
        timeout: options.timeoutMs ?? 10000
      },
      (res) => {
        const chunks: Buffer[] = []
        const fp = (res.socket as import("node:tls").TLSSocket).getPeerCertificate?.()?.fingerprint256
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? "", headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), fingerprint256: fp })
        )
        res.on("error", reject)
      }
    )
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", reject)
    if (body !== undefined) req.write(body)
    req.end()
  })
