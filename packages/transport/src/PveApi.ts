/**
 * The PVE API client (transport-trust.md §2): Effect `HttpClient` over a pinned undici Agent, the API token
 * header, form-encoded bodies, `{data}` unwrapping and Schema decoding, per-attempt and overall timeouts
 * done with Effect, retries per §2.3 as named `Schedule` constants, and every failure mapped to a typed
 * `ApiError` (§2.5).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { type EachOptions, eachVia, type Method, type Outcome, type Params, PveApi } from "@homelab-mcp/core/capabilities/PveApi"
import * as ConfigVars from "@homelab-mcp/core/ConfigVars"
import * as DataDir from "@homelab-mcp/core/DataDir"
import { type ApiError, ApiServerError, ApiTimeout, ApiUnreachable, TlsPinMismatch, TlsTrustUnavailable } from "@homelab-mcp/core/Errors"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs/promises"
import * as PveErrors from "./internal/pveErrors.js"
import * as PveUrl from "./internal/pveUrl.js"
import * as PinnedTls from "./PinnedTls.js"
import * as TrustStore from "./TrustStore.js"
import * as UndiciHttpClient from "./UndiciHttpClient.js"

export { PveApi }

/** Default per-request timeout, headers through body (`PVE_API_TIMEOUT_MS`). */
export const DEFAULT_TIMEOUT_MS = 15_000
/** Default connect + TLS handshake timeout (`PVE_API_CONNECT_TIMEOUT_MS`). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000
/** Default retries of a transient failure (`PVE_API_RETRIES`). */
export const DEFAULT_RETRIES = 2
/** The overall deadline of one logical call, in request timeouts. */
export const OVERALL_DEADLINE_FACTOR = 3

/** Options of the client. */
export interface Options {
  /** `https://<host>:<port>/api2/json` (a URL without a path gets `/api2/json`). */
  readonly baseUrl: string
  /** `user@realm!tokenid`. */
  readonly tokenId: string
  readonly tokenSecret: Redacted.Redacted<string>
  /** The node; discovered with `GET /nodes` when absent (exactly one node required). */
  readonly node?: string | undefined
  /** The pin, in any notation `PinnedTls.parsePin` accepts. */
  readonly fingerprint?: string | undefined
  /** Trust on first use when no pin is given (`PVE_API_TLS_TOFU`). */
  readonly tofu?: boolean | undefined
  /** The TOFU store (`PVE_API_KNOWN_CERTS_PATH`); required with `tofu` and no pin. */
  readonly knownCertsPath?: string | undefined
  readonly timeoutMs?: number | undefined
  readonly connectTimeoutMs?: number | undefined
  readonly retries?: number | undefined
  /**
   * A socket-free client (the sandbox's direct router) used instead of the pinned connection; only for
   * tests and in-process embedding, never with a real node.
   */
  readonly httpClient?: HttpClient.HttpClient | undefined
  /** Called after each verified TLS handshake (tests count connections). */
  readonly onConnectionVerified?: (() => void) | undefined
  /** Where trust warnings go (default: a line on stderr). */
  readonly onWarning?: ((message: string) => void) | undefined
}

// ---------------------------------------------------------------------------------------------------
// Retry policy (transport-trust.md §2.3)
// ---------------------------------------------------------------------------------------------------

/** Backoff of transient failures: 250 ms, then 500 ms, …, each ±50 % jitter. */
export const transientBackoff = Schedule.exponential("250 millis", 2).pipe(Schedule.jitteredWith({ min: 0.5, max: 1.5 }))

/** The retry schedule: `transientBackoff` bounded to `retries` recurrences. */
export const retrySchedule = (retries: number) => transientBackoff.pipe(Schedule.intersect(Schedule.recurs(retries)))

/** Whether a GET may be retried after this error (ApiUnreachable incl. 595/596, ApiTimeout, 502/503/504). */
export const isTransient = (error: ApiError): boolean =>
  error._tag === "ApiUnreachable" ||
  error._tag === "ApiTimeout" ||
  (error._tag === "ApiServerError" && (error.status === 502 || error.status === 503 || error.status === 504))

/** @internal The connection failed before any request byte was written: safe to retry any method. */
class NotSent extends Data.TaggedError("NotSent")<{ readonly error: ApiError }> {}

// ---------------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------------

const reasonPhraseOf = (response: HttpClientResponse.HttpClientResponse): string | undefined => {
  // Our undici client keeps the reason phrase as `statusText`; a web response (the socket-free client)
  // keeps it on `source`, possibly under wrappers (`original`).
  let current: unknown = response
  for (let depth = 0; depth < 4 && current !== null && typeof current === "object"; depth++) {
    const own = (current as { statusText?: unknown }).statusText
    if (typeof own === "string" && own !== "") return own
    const source = (current as { source?: { statusText?: unknown } }).source
    if (source !== undefined) {
      return typeof source.statusText === "string" && source.statusText !== "" ? source.statusText : undefined
    }
    current = (current as { original?: unknown }).original
  }
  return undefined
}

/** The typed error of a request that got no answer (`cause` as undici or our deadline left it). */
const classifyCause = (cause: unknown, fallback: string, path: string, limit: number): ApiError | NotSent => {
  if (cause instanceof UndiciHttpClient.RequestTimeout) return new ApiTimeout({ path, timeoutMs: limit })
  if (cause instanceof UndiciHttpClient.BodyTooLarge) return new ApiUnreachable({ reason: `bad response: ${cause.message}` })
  const pin = PinnedTls.findInCause(cause, PinnedTls.PinMismatchError)
  if (pin) return new TlsPinMismatch({ expected: pin.expected, presented: pin.presented })
  const connect = PinnedTls.findInCause(cause, PinnedTls.ConnectError)
  if (connect) return new NotSent({ error: new ApiUnreachable({ reason: connect.message }) })
  const c = cause as { message?: unknown; code?: unknown } | undefined
  const detail = typeof c?.message === "string" ? c.message : fallback
  const code = typeof c?.code === "string" ? ` (${c.code})` : ""
  return new ApiUnreachable({ reason: `the connection failed: ${detail}${code}` })
}

interface Resolved {
  readonly base: PveUrl.BaseUrl
  readonly authorization: Redacted.Redacted<string>
  /** Ours over the pinned Agent (keeps each deadline with one timer), or an injected client raced against one. */
  readonly client: { readonly _tag: "undici"; readonly undici: UndiciHttpClient.UndiciHttpClient } | { readonly _tag: "other"; readonly http: HttpClient.HttpClient }
  readonly timeoutMs: number
  readonly retries: number
}

/** A batch request whose first attempt failed in a way the retry policy may retry. */
interface Retry {
  readonly first: ApiError | NotSent
  readonly deadline: number
}

const makeRequester = (r: Resolved, nodeRef: { node: string }) => {
  const overallMs = r.timeoutMs * OVERALL_DEADLINE_FACTOR
  /** One attempt, limited by the request timeout or what is left of the call's overall deadline. */
  const once = <A, I>(
    method: Method,
    path: string,
    schema: Schema.Schema<A, I>,
    params: Params | undefined,
    deadline: number
  ): Effect.Effect<A, ApiError | NotSent> => {
    const encoded = PveUrl.encodeParams(params)
    const hasBody = method === "POST" || method === "PUT"
    const url = `${r.base.href}${path}${!hasBody && encoded !== "" ? `?${encoded}` : ""}`
    let request = HttpClientRequest.make(method)(url).pipe(
      HttpClientRequest.setHeaders({
        authorization: Redacted.value(r.authorization),
        accept: "application/json"
      })
    )
    if (hasBody) request = HttpClientRequest.bodyText(request, encoded, "application/x-www-form-urlencoded")
    return Effect.suspend(() => {
      const left = deadline - Date.now()
      const [limitMs, limit] = left < r.timeoutMs ? [Math.max(0, left), overallMs] : [r.timeoutMs, r.timeoutMs]
      const answered = (sent: Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>) =>
        sent.pipe(
          Effect.flatMap((response) =>
            Effect.flatMap(response.text, (text) => interpret(response.status, reasonPhraseOf(response), text, path, schema, nodeRef.node))
          ),
          Effect.catchTags({
            RequestError: (e) => Effect.fail(classifyCause(e.cause, e.message, path, limit)),
            ResponseError: (e) =>
              Effect.fail(
                e.cause instanceof UndiciHttpClient.BodyTooLarge
                  ? classifyCause(e.cause, e.message, path, limit)
                  : new ApiUnreachable({ reason: `the connection broke while reading the response (${e.message})` })
              )
          })
        )
      // ours keeps the deadline with one timer that aborts the request; an injected client is raced against one
      return r.client._tag === "undici"
        ? answered(r.client.undici.executeWithin(request, limitMs))
        : Effect.timeoutFail(answered(r.client.http.execute(request)), {
            duration: Duration.millis(limitMs),
            onTimeout: () => new ApiTimeout({ path, timeoutMs: limit })
          })
    })
  }

  const retryable = (method: Method, e: ApiError | NotSent) => e._tag === "NotSent" || (method === "GET" && isTransient(e))
  const expired = (e: ApiError | NotSent) => e._tag === "ApiTimeout" && e.timeoutMs === overallMs

  /**
   * What follows a failed first attempt: the retries of §2.3 while the policy and the overall deadline allow
   * (the schedule's first delay comes before the first retry), else the failure itself.
   */
  const settle = <A>(method: Method, attempt: Effect.Effect<A, ApiError | NotSent>, first: ApiError | NotSent, deadline: number): Effect.Effect<A, ApiError> => {
    if (!retryable(method, first) || expired(first) || r.retries <= 0) return Effect.fail(first._tag === "NotSent" ? first.error : first)
    // replays the failure already seen, so the schedule's first delay comes before the first retry
    let replayed = false
    const again = Effect.suspend(() => (replayed ? attempt : ((replayed = true), Effect.fail(first))))
    // a backoff never sleeps past the overall deadline: the attempt after it then fails at once as expired
    const schedule = retrySchedule(r.retries).pipe(Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.millis(Math.max(0, deadline - Date.now())))))
    return again.pipe(
      Effect.retry({ schedule, while: (e) => retryable(method, e) && !expired(e) && deadline > Date.now() }),
      Effect.catchTag("NotSent", (e) => Effect.fail(e.error)),
      // an attempt that ran out its own limit after the call's deadline (its timer fired late) ends the call
      // on the overall deadline, and the error says so
      Effect.mapError((e) =>
        e._tag === "ApiTimeout" && e.timeoutMs !== overallMs && Date.now() >= deadline ? new ApiTimeout({ path: e.path, timeoutMs: overallMs }) : e
      )
    )
  }

  // One timer per attempt: each attempt gets the request timeout, cut to what is left of the overall
  // deadline (3 x the request timeout), and the retry driver is only built once an attempt has failed.
  const request = <A, I>(method: Method, path: string, schema: Schema.Schema<A, I>, params?: Params): Effect.Effect<A, ApiError> =>
    Effect.suspend(() => {
      const deadline = Date.now() + overallMs
      const attempt = once(method, path, schema, params, deadline)
      return attempt.pipe(
        Effect.catchAll((first) => settle(method, attempt, first, deadline)),
        Effect.withSpan("PveApi.request", { attributes: { method, path }, captureStackTrace: false })
      )
    })

  const headers = (method: Method): Record<string, string> =>
    method === "GET"
      ? { authorization: Redacted.value(r.authorization), accept: "application/json" }
      : { authorization: Redacted.value(r.authorization), accept: "application/json", "content-type": "application/x-www-form-urlencoded" }

  /**
   * A batch below the fiber level (ADR 0094): every first attempt is sent from plain callbacks as its permit
   * comes free; only the requests whose first attempt failed retryably go on as Effects (`settle`, holding a
   * permit again). Interruption withdraws the waiting requests and aborts the ones in flight.
   */
  const each =
    (method: "GET" | "POST") =>
    <A, I>(paths: ReadonlyArray<string>, schema: Schema.Schema<A, I>, options: EachOptions): Effect.Effect<ReadonlyArray<Outcome<A>>> => {
      if (r.client._tag !== "undici") return eachVia((path, s) => request(method, path, s))(paths, schema, options)
      const undici = r.client.undici
      const { permits } = options
      const urgent = options.urgent === true
      const sendHeaders = headers(method)
      const body = method === "GET" ? null : ""
      /** The first attempt at `path`, sent from the callback that got its permit; `done` gets its outcome, the returned function aborts it. */
      const first = (path: string, done: (outcome: Outcome<A> | Retry) => void): ((reason: Error) => void) | null => {
        const deadline = Date.now() + overallMs
        let url: URL
        try {
          url = new URL(`${r.base.href}${path}`)
        } catch {
          permits.release()
          done(Either.left(new ApiUnreachable({ reason: `the request path ${JSON.stringify(path)} is not valid` })))
          return null
        }
        let finished = false
        const abort = UndiciHttpClient.dispatchBuffered(
          undici.dispatcher,
          { origin: url.origin, path: url.pathname + url.search, method, headers: sendHeaders, body },
          r.timeoutMs,
          undici.maxBodyBytes,
          (result) => {
            finished = true
            permits.release()
            const outcome: Either.Either<A, ApiError | NotSent> =
              result._tag === "Answered"
                ? interpret(result.answer.status, result.answer.statusText, result.answer.body.toString("utf8"), path, schema, nodeRef.node)
                : Either.left(classifyCause(result.cause, "the request failed", path, r.timeoutMs))
            if (Either.isRight(outcome)) return done(Either.right(outcome.right))
            const e = outcome.left
            done(retryable(method, e) && r.retries > 0 ? { first: e, deadline } : Either.left(e._tag === "NotSent" ? e.error : e))
          }
        )
        return finished ? null : abort
      }
      const firsts = Effect.async<Array<Outcome<A> | Retry>>((resume) => {
        const out: Array<Outcome<A> | Retry | undefined> = new Array(paths.length)
        let left = paths.length
        const inFlight = new Map<number, (reason: Error) => void>()
        if (left === 0) return resume(Effect.succeed([]))
        const withdrawals = paths.map((path, i) =>
          permits.acquire(() => {
            const abort = first(path, (outcome) => {
              inFlight.delete(i)
              out[i] = outcome
              if (--left === 0) resume(Effect.succeed(out as Array<Outcome<A> | Retry>))
            })
            if (abort !== null) inFlight.set(i, abort)
          }, urgent)
        )
        return Effect.sync(() => {
          for (const withdraw of withdrawals) withdraw()
          for (const abort of inFlight.values()) {
            abort(new Error("the request was interrupted"))
            permits.release()
          }
          inFlight.clear()
        })
      })
      const hold = urgent ? permits.withUrgentPermit : permits.withPermit
      return firsts.pipe(
        Effect.flatMap((results) => {
          const retries: Array<number> = []
          results.forEach((x, i) => {
            if (!Either.isEither(x)) retries.push(i)
          })
          if (retries.length === 0) return Effect.succeed(results as Array<Outcome<A>>)
          return Effect.forEach(
            retries,
            (i) => {
              const { first, deadline } = results[i] as Retry
              const attempt = once(method, paths[i]!, schema, undefined, deadline)
              return Effect.either(hold(settle(method, attempt, first, deadline))).pipe(Effect.map((o) => void (results[i] = o)))
            },
            { concurrency: "unbounded", discard: true }
          ).pipe(Effect.as(results as Array<Outcome<A>>))
        }),
        Effect.withSpan("PveApi.each", { attributes: { method, requests: paths.length }, captureStackTrace: false })
      )
    }

  return { request, getEach: each("GET"), postEach: each("POST") }
}

const interpret = <A, I>(
  status: number,
  reasonPhrase: string | undefined,
  text: string,
  path: string,
  schema: Schema.Schema<A, I>,
  node: string
): Either.Either<A, ApiError> => {
  let body: unknown = undefined
  let parsed = false
  if (text !== "") {
    try {
      body = JSON.parse(text)
      parsed = true
    } catch {
      // not JSON
    }
  }
  if (status < 200 || status >= 300) {
    return Either.left(PveErrors.fromAnswer({ status, reasonPhrase: reasonPhrase === "" ? undefined : reasonPhrase, body, path, node }))
  }
  if (!parsed || body === null || typeof body !== "object" || !("data" in body)) {
    return Either.left(new ApiServerError({ status, reason: "unexpected response (not a {data} JSON envelope)", path }))
  }
  const decoded = Schema.decodeUnknownEither(schema)((body as { data: unknown }).data)
  return Either.isRight(decoded)
    ? Either.right(decoded.right)
    : Either.left(
        new ApiServerError({
          status,
          reason: `unexpected response: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left).split("\n").slice(0, 3).join(" ")}`,
          path
        })
      )
}

const NodeList = Schema.Array(Schema.Struct({ node: Schema.String }))

const invalid = (variable: string, message: string) => ConfigError.InvalidData([variable], message)

const defaultWarn = (message: string) => {
  process.stderr.write(`homelab-mcp: WARNING: ${message}\n`)
}

/** Resolves the pin: the configured one, else the TOFU store, else (first use) the presented certificate. */
const resolvePin = (
  options: Options,
  base: PveUrl.BaseUrl,
  connectTimeoutMs: number
): Effect.Effect<Buffer, ApiError | ConfigError.ConfigError> =>
  Effect.gen(function* () {
    if (options.fingerprint !== undefined && options.fingerprint.trim() !== "") {
      const parsed = PinnedTls.parsePin(options.fingerprint)
      if (Either.isLeft(parsed)) return yield* Effect.fail(invalid("PVE_API_TLS_FINGERPRINT", parsed.left))
      return parsed.right
    }
    if (options.tofu !== true) {
      return yield* new TlsTrustUnavailable({
        reason: "PVE_API_TLS_FINGERPRINT is not set and PVE_API_TLS_TOFU is not enabled; the client refuses to connect"
      })
    }
    const store = options.knownCertsPath
    if (store === undefined) {
      return yield* Effect.fail(invalid("PVE_API_KNOWN_CERTS_PATH", "trust on first use needs a known certificates store path"))
    }
    const known = yield* TrustStore.lookup(store, base.hostPort)
    if (known !== undefined) return Either.getOrThrow(PinnedTls.parsePin(known.fingerprint))
    const presented = yield* PinnedTls.probe(base.host, base.port, connectTimeoutMs)
    const pin = PinnedTls.formatPin(presented)
    const entry = yield* TrustStore.record(store, base.hostPort, pin, new Date())
    // another process recorded first: its entry is the trust anchor (a different certificate then fails the pin)
    if (entry.fingerprint !== pin) return Either.getOrThrow(PinnedTls.parsePin(entry.fingerprint))
    ;(options.onWarning ?? defaultWarn)(
      `trust on first use: recorded the API certificate of ${base.hostPort} as ${pin} (${PinnedTls.colonHex(presented)}) in ${store}. ` +
        "Verify it now on the node console (`pvenode cert info` or Certificates in the GUI); from now on a different certificate is refused."
    )
    return presented
  })

/**
 * Builds the client: validates the base URL, resolves the pin (failing with `TlsTrustUnavailable` when
 * there is neither a pin nor TOFU), opens the pinned Agent for the scope, and discovers the node when
 * not configured. Configuration mistakes fail with a `ConfigError` naming the variable.
 */
export const make = (options: Options): Effect.Effect<PveApi.Service, ApiError | ConfigError.ConfigError, Scope.Scope> =>
  Effect.gen(function* () {
    const base = PveUrl.parseBaseUrl(options.baseUrl)
    if (Either.isLeft(base)) {
      return yield* Effect.fail(invalid("PVE_API_BASE_URL", `${base.left} (expected https://<host>:<port>/api2/json)`))
    }
    const tokenId = options.tokenId.trim()
    if (!/^[^\s@!]+@[^\s@!]+![A-Za-z][A-Za-z0-9._-]*$/.test(tokenId)) {
      return yield* Effect.fail(invalid("PVE_API_TOKEN_ID", `${JSON.stringify(options.tokenId)} is not a token id (expected user@realm!tokenname)`))
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
    let client: Resolved["client"]
    if (options.httpClient !== undefined) {
      // no trace headers to the node, and no per-request client span: `PveApi.request` is the span
      client = { _tag: "other", http: HttpClient.withTracerDisabledWhen(HttpClient.withTracerPropagation(options.httpClient, false), () => true) }
    } else {
      const pin = yield* resolvePin(options, base.right, connectTimeoutMs)
      const agent = yield* PinnedTls.makeAgent({
        pin,
        connectTimeoutMs,
        ...(options.onConnectionVerified ? { onVerified: options.onConnectionVerified } : {})
      })
      client = { _tag: "undici", undici: UndiciHttpClient.make(agent) }
    }
    const nodeRef = { node: options.node ?? "" }
    const { request, getEach, postEach } = makeRequester(
      {
        base: base.right,
        authorization: Redacted.make(`PVEAPIToken=${tokenId}=${Redacted.value(options.tokenSecret)}`),
        client,
        timeoutMs,
        retries: options.retries ?? DEFAULT_RETRIES
      },
      nodeRef
    )
    if (nodeRef.node === "") {
      const nodes = yield* request("GET", "/nodes", NodeList)
      const names = nodes.map((n) => n.node).sort()
      if (names.length !== 1) {
        return yield* Effect.fail(
          ConfigError.MissingData(
            ["PVE_API_NODE"],
            names.length === 0
              ? "GET /nodes returned no node; set PVE_API_NODE"
              : `the cluster has ${names.length} nodes (${names.join(", ")}); set PVE_API_NODE to one of them (case-sensitive)`
          )
        )
      }
      nodeRef.node = names[0]!
    }
    const service: PveApi.Service = {
      node: nodeRef.node,
      host: base.right.host,
      request,
      get: (path, schema, params) => request("GET", path, schema, params),
      post: (path, schema, params) => request("POST", path, schema, params),
      getEach,
      postEach
    }
    return service
  })

/** The client as a scoped layer (the Agent is destroyed with the layer). */
export const layer = (options: Options): Layer.Layer<PveApi, ApiError | ConfigError.ConfigError> =>
  Layer.scoped(PveApi, make(options))

// ---------------------------------------------------------------------------------------------------
// Configuration (tiers-setup.md §3)
// ---------------------------------------------------------------------------------------------------

/** The environment variables of the client, validated (the secret file is read by `loadOptions`). */
export const config = Config.all({
  baseUrl: ConfigVars.required("PVE_API_BASE_URL", "https://<host>:8006/api2/json").pipe(
    Config.mapOrFail((raw) => {
      const parsed = PveUrl.parseBaseUrl(raw)
      return Either.isLeft(parsed)
        ? Either.left(invalid("PVE_API_BASE_URL", `${parsed.left} (expected https://<host>:<port>/api2/json)`))
        : Either.right(raw)
    })
  ),
  tokenId: ConfigVars.required("PVE_API_TOKEN_ID", "user@realm!tokenname, e.g. mcp@pve!mcp-observe"),
  secret: ConfigVars.optionalString("PVE_API_TOKEN_SECRET"),
  secretFile: ConfigVars.optionalString("PVE_API_TOKEN_SECRET_FILE"),
  node: ConfigVars.optionalString("PVE_API_NODE"),
  fingerprint: ConfigVars.optionalString("PVE_API_TLS_FINGERPRINT").pipe(
    Config.mapOrFail((raw) => {
      if (raw === undefined) return Either.right(undefined)
      const parsed = PinnedTls.parsePin(raw)
      return Either.isLeft(parsed) ? Either.left(invalid("PVE_API_TLS_FINGERPRINT", parsed.left)) : Either.right(raw)
    })
  ),
  tofu: ConfigVars.boolean("PVE_API_TLS_TOFU", false),
  knownCertsPath: DataDir.under("PVE_API_KNOWN_CERTS_PATH", "known_certs.json"),
  timeoutMs: ConfigVars.integer("PVE_API_TIMEOUT_MS", DEFAULT_TIMEOUT_MS, 100, 600_000),
  connectTimeoutMs: ConfigVars.integer("PVE_API_CONNECT_TIMEOUT_MS", DEFAULT_CONNECT_TIMEOUT_MS, 100, 120_000),
  retries: ConfigVars.integer("PVE_API_RETRIES", DEFAULT_RETRIES, 0, 10)
})

/** Reads and validates the client's options from the environment, reading the secret file if named. */
export const loadOptions: Effect.Effect<Options, ConfigError.ConfigError> = Effect.gen(function* () {
  const c = yield* config
  if (c.secret !== undefined && c.secretFile !== undefined) {
    return yield* Effect.fail(invalid("PVE_API_TOKEN_SECRET_FILE", "set either PVE_API_TOKEN_SECRET or PVE_API_TOKEN_SECRET_FILE, not both"))
  }
  let secret: string
  if (c.secret !== undefined) secret = c.secret.trim()
  else if (c.secretFile !== undefined) {
    const file = c.secretFile
    secret = yield* Effect.tryPromise({
      try: () => fs.readFile(file, "utf8"),
      catch: (e) => invalid("PVE_API_TOKEN_SECRET_FILE", `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`)
    }).pipe(Effect.map((s) => s.trim()))
    if (secret === "") return yield* Effect.fail(invalid("PVE_API_TOKEN_SECRET_FILE", `${file} is empty (expected the token's UUID secret)`))
  } else {
    return yield* Effect.fail(
      ConfigError.MissingData(["PVE_API_TOKEN_SECRET"], "is not set (set PVE_API_TOKEN_SECRET or PVE_API_TOKEN_SECRET_FILE); run `homelab-mcp doctor`")
    )
  }
  return {
    baseUrl: c.baseUrl,
    tokenId: c.tokenId,
    tokenSecret: Redacted.make(secret),
    node: c.node,
    fingerprint: c.fingerprint,
    tofu: c.tofu,
    knownCertsPath: c.knownCertsPath,
    timeoutMs: c.timeoutMs,
    connectTimeoutMs: c.connectTimeoutMs,
    retries: c.retries
  }
})

/** The client from the environment (tiers-setup.md §3 names). */
export const layerConfig: Layer.Layer<PveApi, ApiError | ConfigError.ConfigError> = Layer.scoped(
  PveApi,
  Effect.flatMap(loadOptions, make)
)

const configErrorLines = (error: ConfigError.ConfigError): Array<string> => {
  switch (error._op) {
    case "And":
    case "Or":
      return [...configErrorLines(error.left), ...configErrorLines(error.right)]
    case "InvalidData":
    case "MissingData":
    case "SourceUnavailable":
    case "Unsupported":
      return [`${error.path.join(".")}: ${error.message}`]
  }
}

/** One line for a startup failure of the client: the variable and what is expected, or the API error and its hint. */
export const describeStartupError = (error: ApiError | ConfigError.ConfigError): string =>
  ConfigError.isConfigError(error) ? [...new Set(configErrorLines(error))].join("; ") : `${error.message} ${error.hint}`
