/**
 * `pct_write_file` latency beside the bare transfer (issue "Companion tier core"): 4 KiB, 256 KiB and
 * 4 MiB text files written to CT 100 of a sandbox by the bundled bin over stdio (backup, audit, diff and
 * verification included), beside the same bytes pushed through the same SSH transport with
 * `GuestFiles.pctWrite` alone, interleaved in one run with the same content as a dryRun and refused by the
 * path rules (the parts of the tool's time before any backup). Also the server's peak RSS above idle during the
 * 4 MiB write (Linux: VmHWM after resetting it through /proc/<pid>/clear_refs; median of three writes).
 */
import { readFileSync, writeFileSync } from "node:fs"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { GuestFiles } from "../../packages/core/src/capabilities/GuestFiles.js"
import type * as Sandbox from "../../packages/sandbox/src/Sandbox.js"
import * as GuestFilesLive from "../../packages/transport/src/GuestFiles.js"
import * as NodeShellLive from "../../packages/transport/src/NodeShell.js"
import * as Ssh from "../../packages/transport/src/Ssh.js"
import { connect } from "../../test/support/Bin.js"

/** One measured size. */
export interface Row {
  readonly label: string
  readonly bytes: number
  readonly toolMs: number
  readonly bareMs: number
  readonly ratio: number
  /** The same content as a dryRun (MCP, state read, plan and diff; nothing stored or written). */
  readonly dryRunMs: number
  /** The same content refused by the path rules (MCP round trip, decoding, the refusal's audit record). */
  readonly refusedMs: number
}

/** The whole section's result. */
export interface Result {
  readonly rows: ReadonlyArray<Row>
  readonly peakRssAboveIdleBytes: number | null
  /** The three measured peaks (bytes above the RSS just before each write). */
  readonly peakRssSamplesBytes: ReadonlyArray<number>
  /** The peak of the first 4 MiB write of a fresh server (its heap not yet grown by earlier writes). */
  readonly freshPeakRssAboveIdleBytes: number | null
  readonly peakRssRatio: number | null
}

const SIZES = [
  { label: "4 KiB", bytes: 4 * 1024 },
  { label: "256 KiB", bytes: 256 * 1024 },
  { label: "4 MiB", bytes: 4 * 1024 * 1024 }
]

/** Text of `bytes` bytes whose lines differ run to run (so every write changes the file). */
const text = (bytes: number, round: number): string => {
  const line = (i: number) => `key_${i} = value ${(i * 2654435761 + round * 97) % 1000003} round ${round}\n`
  let out = ""
  for (let i = 0; out.length < bytes; i++) out += line(i)
  return out.slice(0, bytes - 1) + "\n"
}

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const status = (pid: number, key: string): number | null => {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return m ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}

/**
 * The peak RSS of `pid` above its RSS just before `write` (VmHWM reset through clear_refs); null when the
 * counters cannot be read or reset, or the write did not succeed.
 */
const peakAboveIdle = async (pid: number, write: () => Promise<boolean>): Promise<number | null> => {
  const idle = status(pid, "VmRSS")
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5")
  } catch {
    return null
  }
  const ok = await write()
  const peak = status(pid, "VmHWM")
  return ok && idle !== null && peak !== null ? Math.max(0, peak - idle) : null
}

/** Runs the section against a started sandbox with SSH (`handle.ssh` set). */
export const run = async (handle: Sandbox.SandboxHandle, rounds = 3): Promise<Result> => {
  const ssh = handle.ssh!
  const layer = Layer.mergeAll(GuestFilesLive.layerWithNode(handle.api.node)).pipe(
    Layer.provideMerge(NodeShellLive.layerFromSsh),
    Layer.provide(Ssh.layer({ host: ssh.host, port: ssh.port, user: ssh.user, privateKey: ssh.privateKeyPem, hostKeyFingerprint: ssh.hostKeyFingerprint }))
  )
  const runtime = ManagedRuntime.make(layer)
  const session = await connect({ ...handle.env("companion"), MCP_WRITE_MAX_BYTES: String(8 * 1024 * 1024) })
  try {
    const bare = (path: string, content: string) =>
      runtime.runPromise(Effect.flatMap(GuestFiles, (f) => f.pctWrite(100, path, new TextEncoder().encode(content), { mode: "644", uid: 0, gid: 0 })))
    const tool = async (path: string, content: string, extra: Record<string, unknown> = {}) => {
      const r = await session.call("pct_write_file", { vmid: 100, path, content, ...extra })
      if (r.isError === true) throw new Error(`pct_write_file failed: ${JSON.stringify(r.structuredContent)}`)
    }
    const refused = async (content: string) => {
      const r = await session.call("pct_write_file", { vmid: 100, path: "/proc/bench-refused", content })
      if (r.isError !== true) throw new Error("pct_write_file to /proc was not refused")
    }
    const timed = async (f: () => Promise<unknown>) => {
      const t0 = performance.now()
      await f()
      return performance.now() - t0
    }
    // warm-up: connections, probes, caches
    await bare("/root/bench-bare-warm", "warm\n")
    await tool("/root/bench-tool-warm", "warm\n")
    const rows: Array<Row> = []
    for (const size of SIZES) {
      const toolMs: Array<number> = []
      const bareMs: Array<number> = []
      const dryRunMs: Array<number> = []
      const refusedMs: Array<number> = []
      for (let round = 0; round < rounds; round++) {
        const content = text(size.bytes, round)
        bareMs.push(await timed(() => bare(`/root/bench-bare-${size.bytes}`, content)))
        refusedMs.push(await timed(() => refused(content)))
        dryRunMs.push(await timed(() => tool(`/root/bench-tool-${size.bytes}`, content, { dryRun: true })))
        toolMs.push(await timed(() => tool(`/root/bench-tool-${size.bytes}`, content)))
      }
      const t = median(toolMs)
      const b = median(bareMs)
      rows.push({
        label: size.label,
        bytes: size.bytes,
        toolMs: Math.round(t),
        bareMs: Math.round(b),
        ratio: Math.round((t / b) * 100) / 100,
        dryRunMs: Math.round(median(dryRunMs)),
        refusedMs: Math.round(median(refusedMs))
      })
    }
    // peak RSS of the server during three more 4 MiB writes, each above the RSS just before it (median):
    // one write alone swings with the moment the garbage collector happens to run
    const peaks: Array<number> = []
    const pid = session.pid
    if (pid !== null && process.platform === "linux") {
      for (let round = 0; round < 3; round++) {
        const peak = await peakAboveIdle(pid, async () => {
          await tool("/root/bench-tool-4194304", text(4 * 1024 * 1024, 99 + round))
          return true
        })
        if (peak === null) break
        peaks.push(peak)
      }
    }
    const peakRssAboveIdleBytes = peaks.length === 3 ? median(peaks) : null
    // the same in a fresh server whose heap has not yet grown (one small write first: SSH and layers up)
    let freshPeakRssAboveIdleBytes: number | null = null
    const fresh = await connect({ ...handle.env("companion"), MCP_WRITE_MAX_BYTES: String(8 * 1024 * 1024) })
    try {
      const freshPid = fresh.pid
      const warm = await fresh.call("pct_write_file", { vmid: 100, path: "/root/bench-fresh", content: "warm\n" })
      if (warm.isError !== true && freshPid !== null && process.platform === "linux") {
        freshPeakRssAboveIdleBytes = await peakAboveIdle(freshPid, async () =>
          (await fresh.call("pct_write_file", { vmid: 100, path: "/root/bench-fresh", content: text(4 * 1024 * 1024, 7) })).isError !== true
        )
      }
    } finally {
      await fresh.close()
    }
    return {
      rows,
      peakRssAboveIdleBytes,
      peakRssSamplesBytes: peaks,
      freshPeakRssAboveIdleBytes,
      peakRssRatio: peakRssAboveIdleBytes === null ? null : Math.round((peakRssAboveIdleBytes / (4 * 1024 * 1024)) * 100) / 100
    }
  } finally {
    await session.close()
    await runtime.dispose()
  }
}
