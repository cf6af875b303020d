/**
 * An Effect `HttpClient` over an undici `Dispatcher` for small JSON APIs (ADR 0091): one undici request and
 * the whole body read in one asynchronous step, an optional deadline per request (`executeWithin`) kept by
 * one timer that aborts the request, and interruption that aborts it too. Bodies are buffered, so every
 * response is complete before the caller sees it, and capped (`maxBodyBytes`). The callback form underneath,
 * `dispatchBuffered`, also sends the batches of `PveApi.getEach` without a fiber per request (ADR 0094).
 */
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import type * as Undici from "@effect/platform-node/Undici"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/** Default cap of one response body. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024

/** The cause of a `RequestError` when the deadline of `executeWithin` passed before the whole body arrived. */
export class RequestTimeout extends Data.TaggedError("RequestTimeout")<{ readonly timeoutMs: number }> {
  override get message() {
    return `no complete answer within ${this.timeoutMs} ms`
  }
}

/** The cause of a `ResponseError` when the body exceeded `maxBodyBytes` (the rest is not read). */
export class BodyTooLarge extends Data.TaggedError("BodyTooLarge")<{ readonly maxBodyBytes: number }> {
  override get message() {
    return `the answer is larger than ${this.maxBodyBytes} bytes`
  }
}

/** A response whose body has been read whole; every accessor is synchronous underneath. */
class BufferedResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  private cachedText: string | undefined

  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly status: number,
    /** The reason phrase of the status line ("" when the server sent none). */
    readonly statusText: string,
    private readonly rawHeaders: Record<string, string | Array<string> | undefined>,
    readonly body: Uint8Array
  ) {
    super()
  }

  get headers(): Headers.Headers {
    return Headers.fromInput(this.rawHeaders as Headers.Input)
  }

  get cookies(): Cookies.Cookies {
    const header = this.rawHeaders["set-cookie"]
    return header === undefined ? Cookies.empty : Cookies.fromSetCookie(header)
  }

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return Effect.sync(() => (this.cachedText ??= Buffer.from(this.body.buffer, this.body.byteOffset, this.body.byteLength).toString("utf8")))
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({ try: () => (text === "" ? null : (JSON.parse(text) as unknown)), catch: (cause) => this.decodeError(cause) })
    )
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.map(this.text, (text) => UrlParams.fromInput(new URLSearchParams(text)))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.sync(() => {
      const copy = new Uint8Array(this.body.byteLength)
      copy.set(this.body)
      return copy.buffer
    })
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return Stream.succeed(this.body)
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.tryPromise({
      try: () => new Response(this.body, { headers: this.headers as Record<string, string> }).formData(),
      catch: (cause) => this.decodeError(cause)
    })
  }

  private decodeError(cause: unknown) {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }

  override toJSON(): unknown {
    return { _id: "@effect/platform/HttpClientResponse", request: this.request.toJSON(), status: this.status }
  }
}

/** An `HttpClient` that can also run a request under a deadline of its own. */
export interface UndiciHttpClient extends HttpClient.HttpClient {
  /** `execute` with a deadline: after `timeoutMs` the request is aborted and fails (cause `RequestTimeout`). */
  readonly executeWithin: (
    request: HttpClientRequest.HttpClientRequest,
    timeoutMs: number
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>
  /** The dispatcher underneath, for batches sent with `dispatchBuffered`. */
  readonly dispatcher: Undici.Dispatcher
  /** The body cap of every response. */
  readonly maxBodyBytes: number
}

/** Options of `make`. */
export interface Options {
  readonly maxBodyBytes?: number | undefined
}

const bodyOf = (request: HttpClientRequest.HttpClientRequest): Either.Either<Uint8Array | string | null, string> => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
      return Either.right(null)
    case "Uint8Array":
      return Either.right(body.body)
    case "Raw":
      return typeof body.body === "string" || body.body instanceof Uint8Array
        ? Either.right(body.body)
        : Either.left("a raw body that is neither a string nor bytes")
    default:
      return Either.left(`a ${body._tag} body`)
  }
}

/** A whole answer: status line, headers and the buffered body. */
export interface Answer {
  readonly status: number
  /** The reason phrase of the status line ("" when the server sent none). */
  readonly statusText: string
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: Buffer
}

/** A request as `dispatchBuffered` sends it. */
export interface PlainRequest {
  readonly origin: string
  /** Path and query. */
  readonly path: string
  readonly method: Undici.Dispatcher.HttpMethod
  readonly headers: Record<string, string>
  readonly body: Uint8Array | string | null
}

/** How a buffered request ended: its answer, or the cause of the failure (with the answer's head when the body was too large). */
export type Result =
  | { readonly _tag: "Answered"; readonly answer: Answer }
  | { readonly _tag: "Failed"; readonly cause: unknown; readonly head?: Answer | undefined }

/**
 * Sends `request` on `dispatcher` and reads the whole body below the fiber level (ADR 0094): `done` is called
 * exactly once, with the answer or the cause (`RequestTimeout` once `timeoutMs` > 0 passed, `BodyTooLarge`
 * past `maxBodyBytes`, else undici's error), unless the returned `abort` came first, which frees the socket.
 */
export const dispatchBuffered = (
  dispatcher: Undici.Dispatcher,
  request: PlainRequest,
  timeoutMs: number,
  maxBodyBytes: number,
  done: (result: Result) => void
): ((reason: Error) => void) => {
  let finished = false
  let timer: ReturnType<typeof setTimeout> | undefined
  // undici hands out the request's controller only when the request goes onto a socket
  let controller: Undici.Dispatcher.DispatchController | undefined
  let abortedWith: Error | undefined
  const abort = (reason: Error) => {
    if (controller !== undefined) controller.abort(reason)
    else abortedWith = reason
  }
  const finish = (result: Result) => {
    if (finished) return
    finished = true
    if (timer !== undefined) clearTimeout(timer)
    done(result)
  }
  let status = 0
  let statusText = ""
  let headers: Record<string, string | Array<string> | undefined> = {}
  const chunks: Array<Buffer> = []
  let size = 0
  const handler: Undici.Dispatcher.DispatchHandler = {
    onRequestStart: (c) => {
      controller = c
      if (abortedWith !== undefined) c.abort(abortedWith)
    },
    onResponseStart: (_c, statusCode, responseHeaders, statusMessage) => {
      status = statusCode
      headers = responseHeaders
      statusText = statusMessage ?? ""
    },
    onResponseData: (c, chunk) => {
      size += chunk.length
      if (size <= maxBodyBytes) return void chunks.push(chunk)
      const tooLarge = new BodyTooLarge({ maxBodyBytes })
      finish({ _tag: "Failed", cause: tooLarge, head: { status, statusText, headers, body: Buffer.alloc(0) } })
      c.abort(tooLarge)
    },
    onResponseEnd: () => {
      finish({ _tag: "Answered", answer: { status, statusText, headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) } })
    },
    onResponseError: (_c, error) => finish({ _tag: "Failed", cause: error })
  }
  if (timeoutMs > 0) {
    timer = setTimeout(() => {
      const timedOut = new RequestTimeout({ timeoutMs })
      finish({ _tag: "Failed", cause: timedOut })
      abort(timedOut)
    }, timeoutMs)
  }
  try {
    dispatcher.dispatch(request, handler)
  } catch (cause) {
    finish({ _tag: "Failed", cause })
  }
  return (reason) => {
    finished = true
    if (timer !== undefined) clearTimeout(timer)
    abort(reason)
  }
}

/**
 * The client over `dispatcher`. A request fails with `RequestError` (cause `RequestTimeout` when its
 * deadline passed) or `ResponseError` (cause `BodyTooLarge`); interrupting it aborts the request.
 */
export const make = (dispatcher: Undici.Dispatcher, options: Options = {}): UndiciHttpClient => {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  const send = (request: HttpClientRequest.HttpClientRequest, timeoutMs: number) => {
    const url = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
    if (Either.isLeft(url)) return Effect.fail(new HttpClientError.RequestError({ request, reason: "InvalidUrl", cause: url.left }))
    const body = bodyOf(request)
    if (Either.isLeft(body)) {
      return Effect.fail(new HttpClientError.RequestError({ request, reason: "Encode", cause: new Error(`${body.left} is not supported`) }))
    }
    const plain: PlainRequest = {
      origin: url.right.origin,
      path: url.right.pathname + url.right.search,
      method: request.method as Undici.Dispatcher.HttpMethod,
      headers: request.headers,
      body: body.right
    }
    return Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume) => {
      const abort = dispatchBuffered(dispatcher, plain, timeoutMs, maxBodyBytes, (result) => {
        if (result._tag === "Answered") {
          const a = result.answer
          return resume(Effect.succeed(new BufferedResponse(request, a.status, a.statusText, a.headers, a.body)))
        }
        if (result.head !== undefined) {
          const h = result.head
          const response = new BufferedResponse(request, h.status, h.statusText, h.headers, new Uint8Array(0))
          return resume(Effect.fail(new HttpClientError.ResponseError({ request, response, reason: "Decode", cause: result.cause })))
        }
        resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: result.cause })))
      })
      return Effect.sync(() => abort(new Error("the request was interrupted")))
    })
  }
  const client = HttpClient.makeWith<never, never, HttpClientError.HttpClientError, never>(
    (effect) => Effect.flatMap(effect, (request) => send(request, 0)),
    Effect.succeed
  )
  return Object.assign(client, {
    executeWithin: (request: HttpClientRequest.HttpClientRequest, timeoutMs: number) => send(request, Math.max(1, timeoutMs)),
    dispatcher,
    maxBodyBytes
  })
}
