/**
 * GuestExec command shapes and result mapping on a scripted NodeShell that fails on any command it was not
 * given (no silent default success): in-guest timeout only where it works, bash fallback, BusyBox and
 * missing-timeout notes, probe caching, stopped guests, and the agent's JSON as the source of truth.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { GuestExec } from "@homelab-mcp/core/capabilities/GuestExec"
import { type ExecOptions, type ExecResult, NodeShell } from "@homelab-mcp/core/capabilities/NodeShell"
import * as GuestExecLive from "../src/GuestExec.js"
import { PCT_PROBE_SCRIPT } from "../src/internal/sshGuest.js"

const result = (over: Partial<ExecResult>): ExecResult => ({
  exitCode: 0,
  signal: null,
  timedOut: false,
  stdout: "",
  stderr: "",
  stdoutBytes: over.stdout?.length ?? 0,
  stderrBytes: over.stderr?.length ?? 0,
  stdoutTruncated: false,
  stderrTruncated: false,
  durationMs: 5,
  ...over
})

interface Call {
  readonly argv: ReadonlyArray<string>
  readonly options: ExecOptions | undefined
}

/** A NodeShell answering only the scripted argv lines, in any order, each as often as listed. */
const scripted = (script: Array<[ReadonlyArray<string>, ExecResult]>) => {
  const calls: Array<Call> = []
  const pending = [...script]
  const unexpected = (what: string) => Effect.dieMessage(`scripted NodeShell: unexpected ${what}`)
  const service = NodeShell.of({
    exec: (argv, options) =>
      Effect.suspend(() => {
        calls.push({ argv, options })
        const i = pending.findIndex(([a]) => JSON.stringify(a) === JSON.stringify(argv))
        if (i === -1) return unexpected(`command ${JSON.stringify(argv)}`)
        const [, r] = pending.splice(i, 1)[0]!
        return Effect.succeed(r)
      }),
    outputBytes: () => unexpected("outputBytes"),
    execScript: () => unexpected("execScript"),
    output: () => unexpected("output"),
    tempFile: unexpected("tempFile"),
    uploadTemp: () => unexpected("uploadTemp"),
    writeFile: () => unexpected("writeFile"),
    readFile: () => unexpected("readFile"),
    fileSize: () => unexpected("fileSize")
  })
  const layer = Layer.effect(GuestExec, GuestExecLive.make({ outputMaxBytes: 16 })).pipe(
    Layer.provide(Layer.succeed(NodeShell, service))
  )
  return { calls, pending, layer }
}

const probe = (vmid: string, stdout: string): [ReadonlyArray<string>, ExecResult] => [
  ["pct", "exec", vmid, "--", "sh", "-c", PCT_PROBE_SCRIPT],
  result({ stdout })
]

describe("pctExec", () => {
  it.effect("GNU timeout and bash: in-guest timeout, nested budget, probe cached per vmid", () => {
    const s = scripted([
      probe("100", "bash=yes\ntimeout=yes\nbusybox=no\n"),
      [["pct", "exec", "100", "--", "timeout", "-s", "TERM", "-k", "5", "3", "bash", "-c", "echo hi"], result({ stdout: "hi\n" })],
      [["pct", "exec", "100", "--", "timeout", "-s", "TERM", "-k", "5", "1", "sh", "-c", "exit 4"], result({ exitCode: 4 })]
    ])
    return Effect.gen(function*() {
      const ge = yield* GuestExec
      const a = yield* ge.pctExec({ vmid: 100, command: "echo hi", timeoutMs: 2_500 })
      expect(a).toMatchObject({ vmid: 100, shell: "bash", inGuestTimeout: true, stdout: "hi\n", exitCode: 0, notes: [] })
      const b = yield* ge.pctExec({ vmid: 100, command: "exit 4", timeoutMs: 1_000, shell: "sh" })
      expect(b).toMatchObject({ shell: "sh", exitCode: 4 })
      expect(s.calls.filter((c) => c.argv.includes(PCT_PROBE_SCRIPT)).length).toBe(1)
      expect(s.calls[1]!.options).toMatchObject({ timeoutMs: 2_500, nested: true, onBackstop: "partial" })
      expect(s.pending).toStrictEqual([])
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("no bash and no timeout: sh without an in-guest timeout, with notes (D1, D4)", () => {
    const s = scripted([
      probe("150", "bash=no\ntimeout=no\n"),
      [["pct", "exec", "150", "--", "sh", "-c", "echo x"], result({ stdout: "x\n" })]
    ])
    return Effect.gen(function*() {
      const r = yield* (yield* GuestExec).pctExec({ vmid: 150, command: "echo x", timeoutMs: 4_000, shell: "bash" })
      expect(r).toMatchObject({ shell: "sh", inGuestTimeout: false, exitCode: 0 })
      expect(r.notes.join(" ")).toMatch(/no bash; the command ran with sh instead of the requested bash/)
      expect(r.notes.join(" ")).toMatch(/no timeout command; only the node wrapper/)
      expect(s.calls[1]!.options).toMatchObject({ timeoutMs: 4_000, nested: false })
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("BusyBox timeout that rejects -s/-k falls back to the node wrapper (J1)", () => {
    const s = scripted([
      probe("160", "bash=no\ntimeout=broken\nbusybox=yes\n"),
      [["pct", "exec", "160", "--", "sh", "-c", "true"], result({})]
    ])
    return Effect.gen(function*() {
      const r = yield* (yield* GuestExec).pctExec({ vmid: 160, command: "true", timeoutMs: 1_000 })
      expect(r.inGuestTimeout).toBe(false)
      expect(r.notes.join(" ")).toMatch(/timeout \(BusyBox\) does not accept -s\/-k/)
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("a working BusyBox timeout is used and noted", () => {
    const s = scripted([
      probe("161", "bash=no\ntimeout=yes\nbusybox=yes\n"),
      [["pct", "exec", "161", "--", "timeout", "-s", "TERM", "-k", "5", "1", "sh", "-c", "true"], result({})]
    ])
    return Effect.gen(function*() {
      const r = yield* (yield* GuestExec).pctExec({ vmid: 161, command: "true", timeoutMs: 1_000 })
      expect(r.inGuestTimeout).toBe(true)
      expect(r.notes).toContain("CT 161 uses BusyBox timeout.")
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("a stopped container is GuestNotRunning at the probe or the command (cache dropped)", () => {
    const s = scripted([
      [["pct", "exec", "102", "--", "sh", "-c", PCT_PROBE_SCRIPT], result({ exitCode: 255, stderr: "container '102' not running!\n" })],
      probe("103", "bash=yes\ntimeout=yes\nbusybox=no\n"),
      [["pct", "exec", "103", "--", "timeout", "-s", "TERM", "-k", "5", "1", "bash", "-c", "true"], result({ exitCode: 255, stderr: "container '103' not running!\n" })],
      probe("103", "bash=yes\ntimeout=yes\nbusybox=no\n"),
      [["pct", "exec", "103", "--", "timeout", "-s", "TERM", "-k", "5", "1", "bash", "-c", "true"], result({})]
    ])
    return Effect.gen(function*() {
      const ge = yield* GuestExec
      expect((yield* Effect.flip(ge.pctExec({ vmid: 102, command: "true", timeoutMs: 1_000 })))._tag).toBe("GuestNotRunning")
      expect((yield* Effect.flip(ge.pctExec({ vmid: 103, command: "true", timeoutMs: 1_000 })))._tag).toBe("GuestNotRunning")
      expect((yield* ge.pctExec({ vmid: 103, command: "true", timeoutMs: 1_000 })).exitCode).toBe(0)
      expect(s.pending).toStrictEqual([])
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("bad input is InvalidInput before any command", () => {
    const s = scripted([])
    return Effect.gen(function*() {
      const ge = yield* GuestExec
      for (const bad of [
        { vmid: 99, command: "true", timeoutMs: 1000 },
        { vmid: 100, command: "", timeoutMs: 1000 },
        { vmid: 100, command: "a\0b", timeoutMs: 1000 },
        { vmid: 100, command: "true", timeoutMs: 0 }
      ]) {
        expect((yield* Effect.flip(ge.pctExec(bad)))._tag).toBe("InvalidInput")
        expect((yield* Effect.flip(ge.qmExec(bad)))._tag).toBe("InvalidInput")
      }
      expect(s.calls).toStrictEqual([])
    }).pipe(Effect.provide(s.layer))
  })
})

describe("qmExec", () => {
  const qm = (vmid: string, secs: string, ...argv: Array<string>) => ["qm", "guest", "exec", vmid, "--timeout", secs, "--", ...argv]

  it.effect("probes /bin/bash once, maps exitcode, caps out-data and keeps the agent's truncation flags", () => {
    const s = scripted([
      [qm("200", "10", "test", "-x", "/bin/bash"), result({ stdout: "{\"exitcode\":0,\"exited\":1}" })],
      [qm("200", "2", "/bin/bash", "-c", "seq 100"), result({ stdout: JSON.stringify({ exitcode: 3, exited: 1, "out-data": "0123456789abcdefghijklmnop", "out-truncated": 1 }) })],
      [qm("200", "2", "/bin/bash", "-c", "kill -9 $$"), result({ stdout: "{\n   \"exited\" : 1,\n   \"signal\" : 9\n}\n" })]
    ])
    return Effect.gen(function*() {
      const ge = yield* GuestExec
      const a = yield* ge.qmExec({ vmid: 200, command: "seq 100", timeoutMs: 2_000 })
      expect(a).toMatchObject({ exitCode: 3, signal: null, timedOut: false, shell: "bash", pid: null, outTruncated: true, stdoutTruncated: true, stdoutBytes: 26 })
      expect(a.stdout).toBe("01234567…[truncated, 10 bytes omitted]…ijklmnop")
      const b = yield* ge.qmExec({ vmid: 200, command: "kill -9 $$", timeoutMs: 2_000 })
      expect(b).toMatchObject({ exitCode: null, signal: "SIGKILL", timedOut: false })
      expect(s.calls.filter((c) => c.argv.includes("/bin/bash") && c.argv.includes("test")).length).toBe(1)
      expect(s.calls[1]!.options).toMatchObject({ nested: true, onBackstop: "partial" })
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("agent timeout: pid, timedOut, exitCode null, with a note that it still runs", () => {
    const s = scripted([
      [qm("200", "2", "/bin/sh", "-c", "sleep 60"), result({ stdout: "{\n   \"pid\" : 4242\n}\n", stderr: "timeout reached, returning pid\n" })]
    ])
    return Effect.gen(function*() {
      const r = yield* (yield* GuestExec).qmExec({ vmid: 200, command: "sleep 60", timeoutMs: 2_000, shell: "sh" })
      expect(r).toMatchObject({ exitCode: null, signal: null, timedOut: true, pid: 4242, shell: "sh" })
      expect(r.notes.join(" ")).toContain("pid 4242")
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("the node wrapper ending qm itself (exit 124 after the budget) is a timeout with exitCode null, not CommandFailed", () => {
    const s = scripted([
      [qm("200", "2", "/bin/sh", "-c", "sleep 60"), result({ exitCode: 124, timedOut: true, durationMs: 7_000, stderr: "" })]
    ])
    return Effect.gen(function*() {
      const r = yield* (yield* GuestExec).qmExec({ vmid: 200, command: "sleep 60", timeoutMs: 2_000, shell: "sh" })
      expect(r).toMatchObject({ exitCode: null, signal: null, timedOut: true, pid: null, shell: "sh" })
    }).pipe(Effect.provide(s.layer))
  })

  it.effect("agent and VM states map to typed errors; unparseable output is CommandFailed", () => {
    const s = scripted([
      [qm("201", "10", "test", "-x", "/bin/bash"), result({ exitCode: 255, stderr: "VM 201 is not running\n" })],
      [qm("202", "10", "test", "-x", "/bin/bash"), result({ exitCode: 255, stderr: "No QEMU guest agent configured\n" })],
      [qm("203", "1", "/bin/sh", "-c", "true"), result({ stdout: "garbage" })],
      [qm("204", "1", "/bin/sh", "-c", "true"), result({ exitCode: 255, stderr: "QEMU guest agent is not running\n" })]
    ])
    return Effect.gen(function*() {
      const ge = yield* GuestExec
      expect((yield* Effect.flip(ge.qmExec({ vmid: 201, command: "true", timeoutMs: 1_000 })))._tag).toBe("GuestNotRunning")
      expect((yield* Effect.flip(ge.qmExec({ vmid: 202, command: "true", timeoutMs: 1_000 })))._tag).toBe("GuestAgentUnavailable")
      expect((yield* Effect.flip(ge.qmExec({ vmid: 203, command: "true", timeoutMs: 1_000, shell: "sh" })))._tag).toBe("CommandFailed")
      expect((yield* Effect.flip(ge.qmExec({ vmid: 204, command: "true", timeoutMs: 1_000, shell: "sh" })))._tag).toBe("GuestAgentUnavailable")
    }).pipe(Effect.provide(s.layer))
  })
})
