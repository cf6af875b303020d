import { describe, expect, it } from "@effect/vitest"
import * as PveApi from "@homelab-mcp/transport/PveApi"
import { ApiServerError, ApiTimeout, ApiUnreachable, ApiNotFound } from "@homelab-mcp/core/Errors"
import * as Either from "effect/Either"
import * as PveErrors from "../src/internal/pveErrors.js"
import * as PveUrl from "../src/internal/pveUrl.js"

const map = (status: number, message: string | undefined, reasonPhrase?: string, path = "/nodes/pve/qemu/200/status/start", extra: object = {}) =>
  PveErrors.fromAnswer({ status, reasonPhrase, body: message === undefined ? undefined : { data: null, message, ...extra }, path, node: "pve" })

describe("PVE error mapping table", () => {
  it("maps every documented condition", () => {
    expect(map(500, "Configuration file 'nodes/pve2/qemu-server/200.conf' does not exist\n")).toMatchObject({ _tag: "GuestNotFound", vmid: 200, node: "pve2" })
    expect(map(500, undefined, "Configuration file 'nodes/pve/lxc/105.conf' does not exist")).toMatchObject({ _tag: "GuestNotFound", vmid: 105, node: "pve" })
    expect(map(500, "VM 200 not running\n")).toMatchObject({ _tag: "GuestNotRunning", vmid: 200 })
    expect(map(500, "QEMU guest agent is not running\n")).toMatchObject({ _tag: "GuestAgentUnavailable", vmid: 200, reason: "QEMU guest agent is not running" })
    expect(map(500, "No QEMU guest agent configured\n", undefined, "/nodes/pve/qemu/201/agent/ping")).toMatchObject({ _tag: "GuestAgentUnavailable", vmid: 201 })
    expect(map(403, "Permission check failed (URI '/nodes/pve/tasks' not available with API token, need proper ticket.)\n")).toMatchObject({
      _tag: "ApiForbidden",
      privileges: [],
      path: "/nodes/pve/qemu/200/status/start"
    })
    expect(map(403, "Permission check failed (/, Sys.Audit, Sys.Modify)\n")).toMatchObject({ path: "/", privileges: ["Sys.Audit", "Sys.Modify"] })
    expect(map(400, "Parameter verification failed.\n")).toMatchObject({ _tag: "ApiBadRequest", errors: { "(request)": "Parameter verification failed." } })
    expect(map(503, undefined, "Service Unavailable")).toEqual(new ApiServerError({ status: 503, reason: "Service Unavailable", path: "/nodes/pve/qemu/200/status/start" }))
    expect(map(418, undefined, undefined)).toMatchObject({ _tag: "ApiServerError", status: 418, reason: "HTTP 418" })
    expect(map(401, undefined, undefined)).toMatchObject({ _tag: "ApiAuthFailed", reason: "401 Unauthorized" })
    expect(map(596, undefined, "Broken pipe")).toMatchObject({ _tag: "ApiUnreachable", status: 596 })
  })
  it("the body message wins over the reason phrase and only its first line is kept", () => {
    expect(PveErrors.messageOf({ status: 500, reasonPhrase: "phrase", body: { message: "first\nsecond" }, path: "/", node: "pve" })).toBe("first")
    expect(PveErrors.messageOf({ status: 500, reasonPhrase: "phrase", body: { message: "  " }, path: "/", node: "pve" })).toBe("phrase")
    expect(PveErrors.messageOf({ status: 500, reasonPhrase: undefined, body: "text", path: "/", node: "pve" })).toBe("")
  })
  it("classifies transient errors for GET retries", () => {
    expect(PveApi.isTransient(new ApiUnreachable({ reason: "x" }))).toBe(true)
    expect(PveApi.isTransient(new ApiUnreachable({ reason: "x", status: 595 }))).toBe(true)
    expect(PveApi.isTransient(new ApiTimeout({ path: "/", timeoutMs: 1 }))).toBe(true)
    for (const status of [502, 503, 504]) expect(PveApi.isTransient(new ApiServerError({ status, reason: "", path: "/" }))).toBe(true)
    expect(PveApi.isTransient(new ApiServerError({ status: 500, reason: "", path: "/" }))).toBe(false)
    expect(PveApi.isTransient(new ApiNotFound({ status: 501, path: "/" }))).toBe(false)
  })
})

describe("PVE_API_BASE_URL rules", () => {
  const ok = (raw: string) => Either.getOrThrow(PveUrl.parseBaseUrl(raw))
  it("adds the default port and path, keeps a prefix ending in /api2/json, handles IPv6", () => {
    expect(ok("https://pve.lan")).toEqual({ href: "https://pve.lan:8006/api2/json", host: "pve.lan", port: 8006, hostPort: "pve.lan:8006" })
    expect(ok("https://10.0.0.2:8443/api2/json/")).toMatchObject({ href: "https://10.0.0.2:8443/api2/json", port: 8443 })
    expect(ok("https://proxy.lan/pve/api2/json")).toMatchObject({ href: "https://proxy.lan:8006/pve/api2/json" })
    expect(ok("https://[fd00::2]:8006")).toEqual({ href: "https://[fd00::2]:8006/api2/json", host: "fd00::2", port: 8006, hostPort: "[fd00::2]:8006" })
  })
  it("rejects http, other schemes, credentials, queries and foreign paths", () => {
    for (const raw of ["http://pve:8006/api2/json", "ftp://pve", "https://root:pw@pve", "https://pve?x=1", "https://pve/api2/extjs", "pve:8006"]) {
      expect(Either.isLeft(PveUrl.parseBaseUrl(raw)), raw).toBe(true)
    }
  })
  it("encodes parameters: undefined skipped, booleans 0/1, arrays repeated", () => {
    expect(PveUrl.encodeParams({ a: true, b: false, c: ["x", "y z"], d: undefined, e: 5, f: "é" })).toBe("a=1&b=0&c=x&c=y+z&e=5&f=%C3%A9")
    expect(PveUrl.encodeParams(undefined)).toBe("")
  })
})
