/**
 * @internal `PVE_API_BASE_URL` rules (transport-trust.md §2.1) and request encoding: form bodies and
 * query strings with booleans as 0/1 and arrays as repeated keys.
 */
import type { Params } from "@homelab-mcp/core/capabilities/PveApi"
import * as Either from "effect/Either"

/** A validated base URL. */
export interface BaseUrl {
  /** `https://host:port/…/api2/json` without a trailing slash. */
  readonly href: string
  /** Host as written (IPv6 without brackets). */
  readonly host: string
  readonly port: number
  /** `host:port` (the TOFU store key). */
  readonly hostPort: string
}

/** Validates and normalizes `PVE_API_BASE_URL`; `Left` is the reason, for a one-line startup error. */
export const parseBaseUrl = (raw: string): Either.Either<BaseUrl, string> => {
  let url: URL
  try {
    url = new URL(raw.trim())
  } catch {
    return Either.left(`${JSON.stringify(raw)} is not a URL`)
  }
  if (url.protocol === "http:") return Either.left("http: is rejected; the API is only reached over https")
  if (url.protocol !== "https:") return Either.left(`${url.protocol} is not https:`)
  if (url.username || url.password) return Either.left("credentials do not belong in the URL")
  if (url.search || url.hash) return Either.left("a query or fragment does not belong in the URL")
  let pathname = url.pathname.replace(/\/+$/, "")
  if (pathname === "") pathname = "/api2/json"
  else if (!pathname.endsWith("/api2/json")) return Either.left(`the path ${JSON.stringify(url.pathname)} must end with /api2/json`)
  const port = url.port === "" ? 8006 : Number(url.port)
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1")
  const hostForUrl = host.includes(":") ? `[${host}]` : host
  return Either.right({
    href: `https://${hostForUrl}:${port}${pathname}`,
    host,
    port,
    hostPort: `${hostForUrl}:${port}`
  })
}

/** Encodes parameters: `undefined` skipped, booleans `1`/`0`, arrays as repeated keys. */
export const encodeParams = (params: Params | undefined): string => {
  const search = new URLSearchParams()
  if (params) {
    for (const [key, value] of Object.entries(params)) {
      if (value === undefined) continue
      if (typeof value === "boolean") search.append(key, value ? "1" : "0")
      else if (typeof value === "number") search.append(key, String(value))
      else if (typeof value === "string") search.append(key, value)
      else for (const item of value) search.append(key, item)
    }
  }
  return search.toString()
}
