/**
 * Routes generated from the schema extract (sandbox.md §9): each catalogue endpoint becomes a
 * matcher over the path after `/api2/json`, keeping the raw path values for the permission check.
 */
import endpointsJson from "../generated/pve-endpoints.json" with { type: "json" }
import type { PveSchema } from "./Validator.js"

/** The permission description of an endpoint, as in the PVE schema. */
export interface PvePermissions {
  readonly user?: string
  readonly check?: ReadonlyArray<unknown>
  readonly description?: string
}

/** One endpoint of the extract. */
export interface Endpoint {
  readonly method: string
  readonly path: string
  readonly name: string
  readonly allowtoken: number
  readonly protected: number
  readonly permissions: PvePermissions | null
  readonly parameters: PveSchema
  readonly returns: PveSchema
}

/** All catalogue endpoints of the extract. */
export const ENDPOINTS: ReadonlyArray<Endpoint> = (endpointsJson as unknown as { endpoints: ReadonlyArray<Endpoint> }).endpoints

interface Compiled {
  readonly endpoint: Endpoint
  readonly regex: RegExp
  readonly names: ReadonlyArray<string>
}

const compiled: ReadonlyArray<Compiled> = ENDPOINTS.map((endpoint) => {
  const names: Array<string> = []
  const src = endpoint.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    names.push(name)
    return "([^/]+)"
  })
  return { endpoint, regex: new RegExp(`^${src}/?$`), names }
})

/** A route match: the endpoint and its raw (percent-decoded) path values. */
export interface RouteMatch {
  readonly endpoint: Endpoint
  readonly pathParams: Readonly<Record<string, string>>
}

/** Finds the endpoint for a method and path (the part after `/api2/json`). */
export const matchRoute = (method: string, path: string): RouteMatch | undefined => {
  for (const c of compiled) {
    if (c.endpoint.method !== method) continue
    const m = c.regex.exec(path)
    if (!m) continue
    const pathParams: Record<string, string> = {}
    c.names.forEach((name, i) => {
      const raw = m[i + 1]!
      let decoded = raw
      try {
        decoded = decodeURIComponent(raw)
      } catch {
        decoded = raw
      }
      pathParams[name] = decoded
    })
    return { endpoint: c.endpoint, pathParams }
  }
  return undefined
}

/** The endpoint by method and template path. */
export const endpointFor = (method: string, path: string): Endpoint | undefined =>
  ENDPOINTS.find((e) => e.method === method && e.path === path)
