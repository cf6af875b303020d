/**
 * The PVE API capability: typed requests on `/api2/json` with errors mapped (transport-trust.md §2).
 * Exists at every tier; Layers live in `@homelab-mcp/transport/PveApi`.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type * as Schema from "effect/Schema"
import type { ApiError } from "../Errors.js"
import type { Permits } from "../Permits.js"

/** Request parameters: form body for POST/PUT, query string for GET/DELETE; booleans go out as 0/1, arrays as repeated keys. */
export type Params = Readonly<Record<string, string | number | boolean | ReadonlyArray<string> | undefined>>

/** HTTP methods the client issues. */
export type Method = "GET" | "POST" | "PUT" | "DELETE"

/** How a batch of requests is bounded: by `permits`, shared with whatever else holds them; urgent batches are served first. */
export interface EachOptions {
  readonly permits: Permits
  readonly urgent?: boolean | undefined
}

/** One request of a batch: its decoded value, or its typed error. */
export type Outcome<A> = Either.Either<A, ApiError>

/** The PVE API client; every failure is one of the typed `ApiError`s. */
export class PveApi extends Context.Tag("@homelab-mcp/core/PveApi")<PveApi, PveApi.Service>() {}

export declare namespace PveApi {
  /** The client service. Paths are relative to the base URL (`/nodes/pve/lxc`), built with `apiPath`. */
  export interface Service {
    /** The node name (`PVE_API_NODE`, or the single node discovered at startup). */
    readonly node: string
    /** The host of `PVE_API_BASE_URL`. */
    readonly host: string
    /** One request; `{data: …}` is unwrapped and decoded with `schema`. */
    readonly request: <A, I>(
      method: Method,
      path: string,
      schema: Schema.Schema<A, I>,
      params?: Params
    ) => Effect.Effect<A, ApiError>
    /** GET with retries on transient failures. */
    readonly get: <A, I>(path: string, schema: Schema.Schema<A, I>, params?: Params) => Effect.Effect<A, ApiError>
    /** POST, retried only when no request byte was sent. */
    readonly post: <A, I>(path: string, schema: Schema.Schema<A, I>, params?: Params) => Effect.Effect<A, ApiError>
    /**
     * GETs of many paths as one Effect, not a fiber per request (ADR 0094): each holds one of the permits
     * while in flight, with the timeouts and retries of `get`; the outcomes come back in the order of `paths`.
     */
    readonly getEach: <A, I>(paths: ReadonlyArray<string>, schema: Schema.Schema<A, I>, options: EachOptions) => Effect.Effect<ReadonlyArray<Outcome<A>>>
    /** `getEach` for POSTs without parameters (agent pings), retried like `post`. */
    readonly postEach: <A, I>(paths: ReadonlyArray<string>, schema: Schema.Schema<A, I>, options: EachOptions) => Effect.Effect<ReadonlyArray<Outcome<A>>>
  }
}

/** Builds an API path from raw segments, percent-encoding each one (node names, vmids, UPIDs, snapshot names). */
export const apiPath = (...segments: ReadonlyArray<string | number>): string =>
  "/" + segments.map((s) => encodeURIComponent(String(s))).join("/")

/**
 * `getEach`/`postEach` built from `get`/`post` with a fiber per request: for clients without a batch path
 * (the socket-free sandbox client, test doubles); same bound, same order, same outcomes.
 */
export const eachVia =
  (one: <A, I>(path: string, schema: Schema.Schema<A, I>) => Effect.Effect<A, ApiError>) =>
  <A, I>(paths: ReadonlyArray<string>, schema: Schema.Schema<A, I>, options: EachOptions): Effect.Effect<ReadonlyArray<Outcome<A>>> => {
    const hold = options.urgent === true ? options.permits.withUrgentPermit : options.permits.withPermit
    return Effect.forEach(paths, (path) => Effect.either(hold(one(path, schema))), { concurrency: "unbounded" })
  }
