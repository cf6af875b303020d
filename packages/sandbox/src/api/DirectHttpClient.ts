/**
 * A socket-free `HttpClient` into the sandbox's API core (sandbox.md §10 `Sandbox.directHttpClient`):
 * requests go straight to `handleApi` (same pipeline, same bytes) without TLS or sockets, so transport
 * logic can be tested under `it.effect` with the TestClock. Pinning, timeouts and drops need the real
 * listener (`it.live`).
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import type { LabState } from "../state/LabState.js"
import { handleApi } from "./ApiCore.js"
import { HANDLERS } from "./Handlers.js"

const bodyText = (body: HttpBody.HttpBody): string => {
  switch (body._tag) {
    case "Uint8Array":
      return Buffer.from(body.body).toString("utf8")
    case "Raw":
      return typeof body.body === "string" ? body.body : body.body instanceof Uint8Array ? Buffer.from(body.body).toString("utf8") : String(body.body)
    case "FormData": {
      const params = new URLSearchParams()
      for (const [k, v] of body.formData.entries()) params.append(k, typeof v === "string" ? v : v.name)
      return params.toString()
    }
    default:
      return ""
  }
}

/** An HttpClient answering every request from the lab's API core (URL host and port are ignored). */
export const directHttpClient = (lab: LabState): HttpClient.HttpClient =>
  HttpClient.make((request, url) =>
    Effect.map(
      handleApi(
        lab,
        {
          method: request.method,
          url: url.pathname + url.search,
          headers: {
            ...Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v])),
            ...(request.body._tag !== "Empty" && request.body.contentType !== undefined ? { "content-type": request.body.contentType } : {})
          },
          body: bodyText(request.body)
        },
        { handlers: HANDLERS }
      ),
      (res) =>
        HttpClientResponse.fromWeb(
          request,
          new Response(res.status === 204 || res.body.length === 0 ? null : res.body, { status: res.status, statusText: res.reason, headers: res.headers })
        )
    )
  )
