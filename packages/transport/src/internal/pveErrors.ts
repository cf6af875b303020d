/**
 * @internal Mapping of PVE API answers and transport failures to typed errors (transport-trust.md §2.5).
 */
import {
  ApiAuthFailed,
  ApiBadRequest,
  type ApiError,
  ApiForbidden,
  ApiNotFound,
  ApiServerError,
  ApiUnreachable,
  GuestAgentUnavailable,
  GuestNotFound,
  GuestNotRunning
} from "@homelab-mcp/core/Errors"

/** What the client knows of a non-2xx answer. */
export interface Answer {
  readonly status: number
  /** The HTTP reason phrase (Proxmox puts its message there). */
  readonly reasonPhrase: string | undefined
  /** The parsed body, when it was JSON. */
  readonly body: unknown
  /** The request path relative to the base URL. */
  readonly path: string
  /** The client's node (for GuestNotFound when the message does not name one). */
  readonly node: string
}

const firstLine = (text: string) => text.split(/\r?\n/)[0]!.trim()

/** Proxmox's message: body `message`, else the reason phrase. */
export const messageOf = (answer: Answer): string => {
  const body = answer.body as { message?: unknown } | null | undefined
  if (body && typeof body === "object" && typeof body.message === "string" && body.message.trim() !== "") {
    return firstLine(body.message)
  }
  return firstLine(answer.reasonPhrase ?? "")
}

const PERMISSION = /Permission check failed \((\/[^,()\s]*), ([A-Za-z][A-Za-z0-9.]*(?:\s*[|,]\s*[A-Za-z][A-Za-z0-9.]*)*)\)/

/** Parses `Permission check failed (<path>, <privs>)`; privileges split on `|` (any-of) and `,`. */
export const parsePermission = (message: string): { path: string; privileges: Array<string> } | undefined => {
  const m = PERMISSION.exec(message)
  if (!m) return undefined
  const privileges = m[2]!.split(/[|,]/).map((p) => p.trim()).filter((p) => p !== "")
  return { path: m[1]!.trim(), privileges }
}

const vmidFromPath = (path: string): number | undefined => {
  const m = /\/(?:lxc|qemu)\/(\d+)(?:\/|$)/.exec(path)
  return m ? Number(m[1]) : undefined
}

const guestFromMessage = (message: string): number | undefined => {
  const m = /\b(?:CT|VM)\s+(\d+)\b/.exec(message) ?? /\/(\d+)\.conf\b/.exec(message)
  return m ? Number(m[1]) : undefined
}

/** Maps a non-2xx answer to its typed error. */
export const fromAnswer = (answer: Answer): ApiError => {
  const { status, path } = answer
  const message = messageOf(answer)
  switch (status) {
    case 401:
      return new ApiAuthFailed({ reason: message || "401 Unauthorized" })
    case 403: {
      const permission = parsePermission(message)
      return new ApiForbidden({
        path: permission?.path ?? path,
        privileges: permission?.privileges ?? [],
        reason: message || "403 Forbidden"
      })
    }
    case 400: {
      const errors = (answer.body as { errors?: unknown } | null)?.errors
      const map: Record<string, string> = {}
      if (errors && typeof errors === "object") {
        for (const [k, v] of Object.entries(errors)) map[k] = firstLine(String(v))
      }
      if (Object.keys(map).length === 0 && message) map["(request)"] = message
      return new ApiBadRequest({ path, errors: map })
    }
    case 404:
    case 501:
      return new ApiNotFound({ path, status })
    case 595:
    case 596:
      return new ApiUnreachable({ reason: message || `Proxmox answered ${status}`, status })
  }
  if (status === 500) {
    const conf = /Configuration file '?([^'\s]*?)'? does not exist/.exec(message)
    if (conf) {
      const nodeInMessage = /(?:^|\/)nodes\/([^/]+)\//.exec(conf[1] ?? "")?.[1]
      const vmid = guestFromMessage(message) ?? vmidFromPath(path) ?? 0
      return new GuestNotFound({ vmid, node: nodeInMessage ?? answer.node })
    }
    if (/No QEMU guest agent configured|QEMU guest agent is not running|guest agent is not running/i.test(message)) {
      return new GuestAgentUnavailable({ vmid: vmidFromPath(path) ?? guestFromMessage(message) ?? 0, reason: message })
    }
    if (/\bnot running\b/.test(message)) {
      return new GuestNotRunning({ vmid: guestFromMessage(message) ?? vmidFromPath(path) ?? 0, status: "stopped" })
    }
  }
  return new ApiServerError({ status, reason: message || `HTTP ${status}`, path })
}
