/**
 * `GuestExec` on `NodeShell` (tools.md §5, transport-trust.md §3.3, §4.3, lessons B4, D1, D4, J1):
 * `pct exec` with an in-guest `timeout` only where the guest has a working one, bash when present, and
 * `qm guest exec` whose printed JSON is authoritative. Probes are cached per vmid.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { CommandFailed, InvalidInput } from "@homelab-mcp/core/Errors"
import {
  GuestExec,
  type GuestExecRequest,
  type PctExecResult,
  type QmExecResult,
  type ShellChoice
} from "@homelab-mcp/core/capabilities/GuestExec"
import { NodeShell } from "@homelab-mcp/core/capabilities/NodeShell"
import { validateVmid } from "@homelab-mcp/core/shell/Quote"
import { secondsOf } from "./internal/sshCommand.js"
import {
  agentUnavailable,
  firstLine,
  notRunning,
  parsePctProbe,
  parseQmExec,
  PCT_PROBE_SCRIPT,
  type PctProbe,
  signalName
} from "./internal/sshGuest.js"
import { capBytes, PARSER_MAX_BYTES } from "./internal/sshOutput.js"
import * as NodeShellLive from "./NodeShell.js"
import * as Ssh from "./Ssh.js"

/** Options of the service (the per-stream cap applied to agent `out-data`/`err-data`). */
export interface GuestExecOptions {
  readonly outputMaxBytes: number
}

const vmidArg = (vmid: number) =>
  Either.match(validateVmid(vmid), { onLeft: (e) => Effect.fail(e), onRight: (v) => Effect.succeed(v) })

const checkRequest = (r: GuestExecRequest) =>
  Effect.gen(function*() {
    const vmid = yield* vmidArg(r.vmid)
    if (r.command.length === 0 || r.command.length > 65_536) {
      return yield* new InvalidInput({ reason: "command must be 1 to 65536 characters.", key: "command" })
    }
    if (r.command.includes("\0")) {
      return yield* new InvalidInput({ reason: "command contains a NUL byte.", key: "command" })
    }
    if (!Number.isSafeInteger(r.timeoutMs) || r.timeoutMs < 1) {
      return yield* new InvalidInput({ reason: "timeoutMs must be a positive integer.", key: "timeoutMs" })
    }
    return vmid
  })

/** Builds the service on `NodeShell`. */
export const make = (options: GuestExecOptions) =>
  Effect.gen(function*() {
    const shell = yield* NodeShell
    const pctProbes = new Map<number, PctProbe>()
    const qmBash = new Map<number, boolean>()

    const pctProbe = (vmid: number, vmidText: string) =>
      Effect.gen(function*() {
        const cached = pctProbes.get(vmid)
        if (cached) return cached
        const r = yield* shell.exec(["pct", "exec", vmidText, "--", "sh", "-c", PCT_PROBE_SCRIPT])
        const stopped = r.exitCode !== 0 ? notRunning(vmid, r.stderr) : null
        if (stopped) return yield* stopped
        const probe = r.exitCode === 0 ? parsePctProbe(r.stdout) : null
        if (probe === null) {
          return yield* new CommandFailed({
            command: `pct exec ${vmidText} -- sh -c <probe>`,
            exitCode: r.exitCode,
            stderr: firstLine(r.stderr) || "the shell probe printed nothing usable"
          })
        }
        pctProbes.set(vmid, probe)
        return probe
      })

    const pickShell = (choice: ShellChoice | undefined, hasBash: boolean, where: string) => {
      const wanted = choice ?? "auto"
      if (wanted === "sh") return { shell: "sh" as const, notes: [] as Array<string> }
      if (hasBash) return { shell: "bash" as const, notes: [] as Array<string> }
      return {
        shell: "sh" as const,
        notes: [`${where} has no bash; the command ran with sh${wanted === "bash" ? " instead of the requested bash" : ""}.`]
      }
    }

    const pctExec = Effect.fn("GuestExec.pctExec")(function*(request: GuestExecRequest) {
      const vmidText = yield* checkRequest(request)
      const probe = yield* pctProbe(request.vmid, vmidText)
      const { notes, shell: sh } = pickShell(request.shell, probe.bash, `CT ${request.vmid}`)
      const notesOut = [...notes]
      if (!probe.timeout) {
        notesOut.push(
          probe.timeoutPresent
            ? `CT ${request.vmid}'s timeout${probe.busybox ? " (BusyBox)" : ""} does not accept -s/-k; only the node wrapper enforced timeoutMs.`
            : `CT ${request.vmid} has no timeout command; only the node wrapper enforced timeoutMs.`
        )
      } else if (probe.busybox) {
        notesOut.push(`CT ${request.vmid} uses BusyBox timeout.`)
      }
      const bin = sh === "bash" ? "bash" : "sh"
      const inner = probe.timeout
        ? ["timeout", "-s", "TERM", "-k", "5", String(secondsOf(request.timeoutMs)), bin, "-c", request.command]
        : [bin, "-c", request.command]
      const r = yield* shell.exec(["pct", "exec", vmidText, "--", ...inner], {
        timeoutMs: request.timeoutMs,
        nested: probe.timeout,
        onBackstop: "partial"
      })
      if (r.exitCode === 255 && r.stdout === "") {
        const stopped = notRunning(request.vmid, r.stderr)
        if (stopped && /^container '\d+' not running/m.test(r.stderr)) {
          pctProbes.delete(request.vmid)
          return yield* stopped
        }
      }
      const result: PctExecResult = {
        ...r,
        vmid: request.vmid,
        shell: sh,
        inGuestTimeout: probe.timeout,
        notes: notesOut
      }
      return result
    })

    const qmRun = (vmid: number, vmidText: string, argv: ReadonlyArray<string>, timeoutMs: number) =>
      Effect.gen(function*() {
        const r = yield* shell.exec(
          ["qm", "guest", "exec", vmidText, "--timeout", String(secondsOf(timeoutMs)), "--", ...argv],
          { timeoutMs, nested: true, onBackstop: "partial", maxOutputBytes: PARSER_MAX_BYTES }
        )
        // the node's wrapper (exit 124/137) or the client backstop ended `qm` itself: the command's fate is unknown
        if (r.timedOut) return { r, json: null }
        if (r.exitCode !== 0) {
          const unavailable = agentUnavailable(vmid, r.stderr)
          if (unavailable) return yield* unavailable
          const stopped = notRunning(vmid, r.stderr)
          if (stopped) return yield* stopped
          return yield* new CommandFailed({
            command: `qm guest exec ${vmidText}`,
            exitCode: r.exitCode,
            stderr: firstLine(r.stderr) || "no output"
          })
        }
        if (r.stdoutTruncated) {
          return yield* new CommandFailed({
            command: `qm guest exec ${vmidText}`,
            exitCode: 0,
            stderr: `output too large: ${r.stdoutBytes} bytes`
          })
        }
        const json = parseQmExec(r.stdout)
        if (json === null) {
          return yield* new CommandFailed({
            command: `qm guest exec ${vmidText}`,
            exitCode: 0,
            stderr: `unparseable agent output: ${JSON.stringify(r.stdout.slice(0, 200))}`
          })
        }
        return { r, json }
      })

    const qmExec = Effect.fn("GuestExec.qmExec")(function*(request: GuestExecRequest) {
      const vmidText = yield* checkRequest(request)
      let hasBash = qmBash.get(request.vmid)
      if (hasBash === undefined && (request.shell ?? "auto") !== "sh") {
        const probe = yield* qmRun(request.vmid, vmidText, ["test", "-x", "/bin/bash"], 10_000)
        if (probe.json === null || !probe.json.exited) {
          return yield* new CommandFailed({
            command: `qm guest exec ${vmidText} -- test -x /bin/bash`,
            exitCode: null,
            stderr: "the shell probe did not finish"
          })
        }
        hasBash = probe.json.exitcode === 0
        qmBash.set(request.vmid, hasBash)
      }
      const { notes, shell: sh } = pickShell(request.shell, hasBash ?? false, `VM ${request.vmid}`)
      const { json, r } = yield* qmRun(
        request.vmid,
        vmidText,
        [sh === "bash" ? "/bin/bash" : "/bin/sh", "-c", request.command],
        request.timeoutMs
      )
      const empty = { text: "", bytes: 0, truncated: false }
      const out = json === null ? empty : capBytes(Buffer.from(json.outData, "utf8"), options.outputMaxBytes)
      const err = json === null ? empty : capBytes(Buffer.from(json.errData, "utf8"), options.outputMaxBytes)
      const exited = json !== null && json.exited
      const signal = exited && json.signal !== null ? signalName(json.signal) : null
      const result: QmExecResult = {
        exitCode: exited && signal === null ? json.exitcode : null,
        signal,
        timedOut: !exited,
        stdout: out.text,
        stderr: err.text,
        stdoutBytes: out.bytes,
        stderrBytes: err.bytes,
        stdoutTruncated: out.truncated,
        stderrTruncated: err.truncated,
        durationMs: r.durationMs,
        vmid: request.vmid,
        shell: sh,
        pid: json !== null && !exited ? json.pid : null,
        outTruncated: json?.outTruncated ?? false,
        errTruncated: json?.errTruncated ?? false,
        notes: !exited && json?.pid != null
          ? [...notes, `The command is still running in VM ${request.vmid} as pid ${json.pid}; the guest agent cannot stop it.`]
          : notes
      }
      return result
    })

    return GuestExec.of({ pctExec, qmExec })
  })

/** `GuestExec` on a `NodeShell` and `Ssh` provided elsewhere (the cap comes from the connection settings). */
export const layerFromSsh: Layer.Layer<GuestExec, never, NodeShell | Ssh.Ssh> = Layer.effect(
  GuestExec,
  Effect.flatMap(Ssh.Ssh, (ssh) => make({ outputMaxBytes: ssh.settings.outputMaxBytes }))
)

/** `GuestExec` plus `NodeShell` and their own connection from plain options. */
export const layer = (options: Ssh.SshOptions) =>
  layerFromSsh.pipe(Layer.provideMerge(NodeShellLive.layerFromSsh), Layer.provideMerge(Ssh.layer(options)))

/** `GuestExec` plus `NodeShell` on the shared connection from the environment. */
export const layerConfig = layerFromSsh.pipe(
  Layer.provideMerge(NodeShellLive.layerFromSsh),
  Layer.provideMerge(Ssh.layerConfig)
)
