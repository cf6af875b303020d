/**
 * The probe runner (census-health.md §1.3) driven directly: rows after the deadline are skipped without
 * running, an SSH row's timeout is a typed SSH error, SSH rows are bounded while API rows are not,
 * outcomes keep row order, and 403 texts name the privilege however it is known.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { ApiForbidden, ApiServerError, CommandFailed, type ToolError } from "@homelab-mcp/core/Errors"
import * as Probe from "@homelab-mcp/core/census/Probe"

const limits = (over: Partial<Probe.Limits> = {}): Probe.Limits => ({ probeTimeoutMs: 10_000, deadline: 1_000_000, sshConcurrency: 4, ...over })

describe("Probe.errorText", () => {
  it("a 403 without privileges in the error names the row's privilege", () => {
    const e = new ApiForbidden({ path: "/nodes/pve/status", privileges: [], reason: " Permission check failed \n" })
    expect(Probe.errorText(e, "Sys.Audit on /nodes/pve")).toBe(
      "403 permission denied: the API token lacks Sys.Audit on /nodes/pve (Permission check failed)"
    )
  })
  it("a 403 with neither names 'a privilege'", () => {
    const e = new ApiForbidden({ path: "/x", privileges: [], reason: "denied" })
    expect(Probe.errorText(e)).toBe("403 permission denied: the API token lacks a privilege (denied)")
  })
  it("privileges carried by the error win over the row's, joined with 'or'", () => {
    const e = new ApiForbidden({ path: "/vms/101", privileges: ["VM.Audit", "VM.Monitor"], reason: "denied" })
    expect(Probe.errorText(e, "Sys.Audit")).toBe("403 permission denied: the API token lacks VM.Audit or VM.Monitor on /vms/101 (denied)")
  })
  it("other errors read '<tag>: <message>', capped at 500 characters", () => {
    const short = new CommandFailed({ command: "df", exitCode: 1, stderr: "boom" })
    expect(Probe.errorText(short)).toBe(`CommandFailed: ${short.message}`)
    const long = new ApiServerError({ status: 500, path: "/nodes", reason: "x".repeat(2000) })
    const text = Probe.errorText(long)
    expect(text).toHaveLength(500)
    expect(text.startsWith("ApiServerError: ")).toBe(true)
    expect(text.endsWith("…")).toBe(true)
  })
})

describe("Probe.runRows", () => {
  it.effect("rows whose deadline has already passed are Skipped and never run", () =>
    Effect.gen(function* () {
      let ran = 0
      const run = Effect.sync(() => ++ran)
      const outcomes = yield* Probe.runRows(
        [
          { section: "node", key: "node-status", transport: "api", run },
          { section: "services", key: "services", transport: "ssh", run }
        ],
        limits({ deadline: -1 })
      )
      expect(outcomes).toEqual([
        { _tag: "Skipped", section: "node", key: "node-status" },
        { _tag: "Skipped", section: "services", key: "services" }
      ])
      expect(ran).toBe(0)
    })
  )

  it.effect("an SSH row that exceeds the probe timeout fails with an SshTimeout naming the probe", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(
        Probe.runRows([{ section: "tailscale", key: "tailscale", transport: "ssh", run: Effect.as(Effect.sleep("1 hour"), 1) }], limits({ probeTimeoutMs: 250 }))
      )
      yield* TestClock.adjust("1 second")
      const [o] = yield* Fiber.join(fiber)
      expect(o?._tag).toBe("Failed")
      if (o?._tag !== "Failed") return
      expect(o.error._tag).toBe("SshTimeout")
      expect(o.error).toMatchObject({ what: "probe tailscale", timeoutMs: 250 })
      expect(o.text).toBe("timed out after 250 ms (MCP_*_PROBE_TIMEOUT_MS)")
    })
  )

  it.effect("an API row that exceeds the probe timeout fails with an ApiTimeout on the row key", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.fork(
        Probe.runRows([{ section: "network", key: "network", transport: "api", run: Effect.as(Effect.sleep("1 hour"), 1) }], limits({ probeTimeoutMs: 250 }))
      )
      yield* TestClock.adjust("1 second")
      const [o] = yield* Fiber.join(fiber)
      expect(o).toMatchObject({ _tag: "Failed", section: "network", key: "network", error: { _tag: "ApiTimeout", path: "network", timeoutMs: 250 } })
    })
  )

  it.effect("a failing row is Failed with its text; the others are Done, in row order", () =>
    Effect.gen(function* () {
      const err: ToolError = new ApiForbidden({ path: "/nodes/pve", privileges: [], reason: "no" })
      const outcomes = yield* Probe.runRows<number, never>(
        [
          { section: "a", key: "a1", transport: "api", run: Effect.as(Effect.sleep(30), 1) },
          { section: "b", key: "b1", transport: "api", privilege: "Sys.Audit on /nodes/pve", run: Effect.fail(err) },
          { section: "c", key: "c1", transport: "ssh", run: Effect.succeed(3) }
        ],
        limits()
      ).pipe(Effect.fork, Effect.tap(() => TestClock.adjust(100)), Effect.flatMap(Fiber.join))
      expect(outcomes).toEqual([
        { _tag: "Done", section: "a", key: "a1", value: 1 },
        { _tag: "Failed", section: "b", key: "b1", error: err, text: "403 permission denied: the API token lacks Sys.Audit on /nodes/pve (no)" },
        { _tag: "Done", section: "c", key: "c1", value: 3 }
      ])
    })
  )

  it.effect("SSH rows run at most sshConcurrency at a time; API rows all start together", () =>
    Effect.gen(function* () {
      const inFlight = { api: 0, ssh: 0, maxApi: 0, maxSsh: 0 }
      const row = (transport: Probe.Transport, i: number): Probe.Row<number, never> => ({
        section: transport,
        key: `${transport}-${i}`,
        transport,
        run: Effect.acquireUseRelease(
          Effect.sync(() => {
            if (transport === "api") inFlight.maxApi = Math.max(inFlight.maxApi, ++inFlight.api)
            else inFlight.maxSsh = Math.max(inFlight.maxSsh, ++inFlight.ssh)
          }),
          () => Effect.as(Effect.sleep(10), i),
          () => Effect.sync(() => (transport === "api" ? inFlight.api-- : inFlight.ssh--))
        )
      })
      const rows = [...Array.from({ length: 6 }, (_, i) => row("api", i)), ...Array.from({ length: 6 }, (_, i) => row("ssh", i))]
      const fiber = yield* Effect.fork(Probe.runRows(rows, limits({ sshConcurrency: 2 })))
      yield* TestClock.adjust(100)
      const outcomes = yield* Fiber.join(fiber)
      expect(outcomes.every((o) => o._tag === "Done")).toBe(true)
      expect(inFlight.maxApi).toBe(6)
      expect(inFlight.maxSsh).toBe(2)
    })
  )

  it.effect("an sshConcurrency below 1 is treated as 1 rather than blocking every SSH row", () =>
    Effect.gen(function* () {
      const outcomes = yield* Probe.runRows([{ section: "s", key: "s", transport: "ssh", run: Effect.succeed("ok") }], limits({ sshConcurrency: 0 }))
      expect(outcomes).toEqual([{ _tag: "Done", section: "s", key: "s", value: "ok" }])
    })
  )
})
