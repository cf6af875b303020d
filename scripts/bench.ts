/**
 * `pnpm bench` (after `pnpm build`): prints two tables and a JSON document.
 *
 * 1. Cold start: spawn → initialize → tools/list answered, median of 10, for the bundled homelab-mcp
 *    bin at observe and operate beside a minimal one-tool MCP SDK server bundled with the same esbuild
 *    options, measured interleaved in the same run. Goal: at most 1.5x the minimal server.
 * 2. describe_homelab on sandbox labs of 10, 100 and 500 guests with 20 ms injected per API request:
 *    wall time of the tools/call (median of 5 after 10 warm-up calls) beside the critical-path floor (the longest chain of
 *    dependent requests x 20 ms). Goal: within 2x of the floor.
 * 3. pct_write_file of 4 KiB, 256 KiB and 4 MiB text files beside the bare transfer of the same bytes
 *    (scripts/bench/WriteFile.ts), with the same content as a dryRun and as a refused call beside them
 *    (what reading and planning, and the MCP round trip alone, cost). Goal: at most 1.5x at 256 KiB;
 *    peak RSS during the 4 MiB write under 3x the file size above idle.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { build } from "esbuild"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Sandbox from "../packages/sandbox/src/Sandbox.js"
import { bundleOptions } from "../packages/server/scripts/bundle-options.mjs"
import * as ColdStart from "./bench/ColdStart.js"
import * as WriteFile from "./bench/WriteFile.js"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const BIN = join(ROOT, "packages/server/dist/main.js")
const RUNS = Number(process.env["BENCH_COLD_RUNS"] ?? 10)
const LATENCY_MS = 20
const CENSUS_WARMUP = 10
const CENSUS_RUNS = 5
const API_CONCURRENCY = Number(process.env["BENCH_CENSUS_API_CONCURRENCY"] ?? 200)
// one write alone swings with the simulator and the garbage collector: the median of 7 interleaved rounds
const WRITE_ROUNDS = 7

// The sandbox's fidelity guard (every response checked against the Proxmox schema) is for tests; it is
// off here so the numbers measure the product, not the simulator's self-checks.
const startSandbox = async (options: Sandbox.SandboxOptions) => {
  const scope = Effect.runSync(Scope.make())
  const handle = await Effect.runPromise(
    Scope.extend(Sandbox.make({ seed: 1, timeScale: 0.01, authFailureDelay: 0, ssh: false, flags: { validateResponses: false }, ...options }), scope)
  )
  return { handle, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

const pad = (s: string, n: number) => s.padEnd(n)
const table = (rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((c, i) => pad(c, widths[i]!)).join("  ")).join("\n")
}

// ---------------------------------------------------------------------------------------------------
// Cold start
// ---------------------------------------------------------------------------------------------------

const coldStart = async () => {
  const outdir = mkdtempSync(join(tmpdir(), "homelab-mcp-bench-minimal-"))
  await build({ ...bundleOptions, entryPoints: { main: join(ROOT, "scripts/bench/minimal-server.ts") }, outdir })
  const minimalBin = join(outdir, "main.js")
  const sandbox = await startSandbox({ tier: "operate" })
  const dataDir = mkdtempSync(join(tmpdir(), "homelab-mcp-bench-data-"))
  try {
    const subjects = [
      { name: "minimal SDK server (1 tool)", args: [minimalBin], env: {} },
      { name: "homelab-mcp observe", args: [BIN, "serve"], env: { ...sandbox.handle.env("observe"), MCP_DATA_DIR: dataDir } },
      { name: "homelab-mcp operate", args: [BIN, "serve"], env: { ...sandbox.handle.env("operate"), MCP_DATA_DIR: dataDir } }
    ]
    // one warm-up each (file cache), then RUNS interleaved rounds
    for (const s of subjects) await ColdStart.measure(s.args, s.env)
    const samples = subjects.map(() => [] as Array<number>)
    const tools = subjects.map(() => 0)
    for (let i = 0; i < RUNS; i++) {
      for (const [j, s] of subjects.entries()) {
        const r = await ColdStart.measure(s.args, s.env)
        samples[j]!.push(r.ms)
        tools[j] = r.tools
      }
    }
    const baseline = ColdStart.median(samples[0]!)
    return subjects.map((s, j) => {
      const med = ColdStart.median(samples[j]!)
      return {
        subject: s.name,
        tools: tools[j]!,
        runs: RUNS,
        medianMs: Math.round(med),
        minMs: Math.round(Math.min(...samples[j]!)),
        maxMs: Math.round(Math.max(...samples[j]!)),
        ratio: Math.round((med / baseline) * 100) / 100,
        goal: j === 0 ? "baseline" : med / baseline <= 1.5 ? "met (<= 1.5x)" : "missed (> 1.5x)"
      }
    })
  } finally {
    await sandbox.close()
    rmSync(outdir, { recursive: true, force: true })
    rmSync(dataDir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------------
// describe_homelab against a slow API
// ---------------------------------------------------------------------------------------------------

interface CensusDoc {
  readonly errors: ReadonlyArray<unknown>
}

const census = async () => {
  const rows: Array<Record<string, unknown>> = []
  for (const guests of [10, 100, 500]) {
    const sandbox = await startSandbox({
      tier: "observe",
      guests,
      faults: [{ id: "bench-latency", target: { kind: "api" }, when: { _tag: "always" }, effect: { _tag: "latency", latency: { fixed: LATENCY_MS } } }]
    })
    const dataDir = mkdtempSync(join(tmpdir(), "homelab-mcp-bench-census-"))
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, "serve"],
      env: { PATH: process.env["PATH"] ?? "", ...sandbox.handle.env("observe"), MCP_DATA_DIR: dataDir, MCP_CENSUS_API_CONCURRENCY: String(API_CONCURRENCY) },
      stderr: "ignore"
    })
    const client = new Client({ name: "homelab-mcp-bench", version: "1" })
    await client.connect(transport)
    try {
      for (const depth of ["summary", "status"] as const) {
        const args = { depth, saveSnapshot: false }
        // warm-up: the pinned connections are opened and the JIT has seen the code paths; a long-running
        // server answers from this steady state (start-up is measured by the cold-start table)
        for (let i = 0; i < CENSUS_WARMUP; i++) await client.callTool({ name: "describe_homelab", arguments: args })
        const times: Array<number> = []
        let requests = 0
        let pings = 0
        let doc: CensusDoc | undefined
        for (let i = 0; i < CENSUS_RUNS; i++) {
          const before = sandbox.handle.control.events().at(-1)?.seq ?? 0
          const t0 = performance.now()
          const r = await client.callTool({ name: "describe_homelab", arguments: args })
          times.push(performance.now() - t0)
          const calls = sandbox.handle.control.events().filter((e) => e.seq > before && e.kind === "api")
          requests = calls.length
          pings = calls.filter((e) => e.path?.endsWith("/agent/ping") === true).length
          if (r.isError === true) throw new Error(`describe_homelab failed: ${JSON.stringify(r.structuredContent)}`)
          doc = r.structuredContent as unknown as CensusDoc
        }
        // Dependent chain, read off the requests the call made: summary = the independent section GETs
        // (1 round); status = list -> config, plus -> agent ping when the call pinged a running VM's agent.
        const chain = depth === "summary" ? 1 : pings > 0 ? 3 : 2
        const wall = ColdStart.median(times)
        const floor = chain * LATENCY_MS
        rows.push({
          guests,
          depth,
          requests,
          chain,
          floorMs: floor,
          wallMs: Math.round(wall),
          ratio: Math.round((wall / floor) * 100) / 100,
          goal: wall / floor <= 2 ? "met (<= 2x)" : "missed (> 2x)",
          concurrencyBound: API_CONCURRENCY,
          probeErrors: doc!.errors.length
        })
      }
    } finally {
      await client.close()
      await sandbox.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
  return rows
}

// ---------------------------------------------------------------------------------------------------
// pct_write_file
// ---------------------------------------------------------------------------------------------------

const writeFile = async () => {
  const sandbox = await startSandbox({ tier: "companion", ssh: true })
  try {
    return await WriteFile.run(sandbox.handle, WRITE_ROUNDS)
  } finally {
    await sandbox.close()
  }
}

// BENCH_ONLY=census (or cold, write; comma-separated) runs a subset; the default runs all three.
const ONLY = new Set((process.env["BENCH_ONLY"] ?? "cold,census,write").split(",").map((s) => s.trim()))

const main = async () => {
  process.stderr.write(`bench: cold start (${RUNS} interleaved runs each)…\n`)
  const cold = ONLY.has("cold") ? await coldStart() : []
  process.stdout.write(
    "\nCold start: spawn -> initialize -> tools/list (median of " + RUNS + ")\n" +
      table([
        ["subject", "tools", "median ms", "min", "max", "x minimal", "goal"],
        ...cold.map((r) => [r.subject, String(r.tools), String(r.medianMs), String(r.minMs), String(r.maxMs), r.ratio.toFixed(2), r.goal])
      ]) +
      "\n"
  )
  process.stderr.write(`bench: describe_homelab with ${LATENCY_MS} ms per API request…\n`)
  const censusRows = ONLY.has("census") ? await census() : []
  process.stdout.write(
    `\ndescribe_homelab, ${LATENCY_MS} ms injected per API request (median of ${CENSUS_RUNS} after ${CENSUS_WARMUP} warm-up calls; API concurrency bound ${API_CONCURRENCY})\n` +
      table([
        ["guests", "depth", "requests", "chain", "floor ms", "wall ms", "x floor", "goal"],
        ...censusRows.map((r) => [String(r["guests"]), String(r["depth"]), String(r["requests"]), String(r["chain"]), String(r["floorMs"]), String(r["wallMs"]), (r["ratio"] as number).toFixed(2), String(r["goal"])])
      ]) +
      "\n"
  )
  process.stderr.write("bench: pct_write_file beside the bare transfer…\n")
  const writes = ONLY.has("write") ? await writeFile() : { rows: [], peakRssAboveIdleBytes: null, peakRssSamplesBytes: [], freshPeakRssAboveIdleBytes: null, peakRssRatio: null }
  process.stdout.write(
    `\npct_write_file on the sandbox beside the bare transfer (GuestFiles.pctWrite of the same bytes), median of ${WRITE_ROUNDS} interleaved rounds;\n` +
      "dryRun: the same call with dryRun:true (state read, plan, diff); refused: the same content to a denied path (MCP and audit only)\n" +
      table([
        ["size", "tool ms", "bare ms", "x bare", "goal", "dryRun ms", "refused ms"],
        ...writes.rows.map((r) => [
          r.label,
          String(r.toolMs),
          String(r.bareMs),
          r.ratio.toFixed(2),
          r.label === "256 KiB" ? (r.ratio <= 1.5 ? "met (<=1.5x)" : "MISSED (<=1.5x)") : "-",
          String(r.dryRunMs),
          String(r.refusedMs)
        ])
      ]) +
      `\nserver peak RSS above idle during a 4 MiB write (median of 3): ${writes.peakRssAboveIdleBytes === null ? "n/a" : `${(writes.peakRssAboveIdleBytes / 1048576).toFixed(1)} MiB = ${writes.peakRssRatio}x the file (goal < 3x: ${writes.peakRssRatio !== null && writes.peakRssRatio < 3 ? "met" : "MISSED"})`}\n` +
      `first 4 MiB write of a fresh server: ${writes.freshPeakRssAboveIdleBytes === null ? "n/a" : `${(writes.freshPeakRssAboveIdleBytes / 1048576).toFixed(1)} MiB = ${(writes.freshPeakRssAboveIdleBytes / (4 * 1048576)).toFixed(2)}x the file`}\n`
  )
  process.stdout.write(
    "\n" +
      JSON.stringify(
        { node: process.version, cpus: (await import("node:os")).cpus().length, coldStart: cold, describeHomelab: censusRows, pctWriteFile: writes },
        null,
        2
      ) +
      "\n"
  )
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exitCode = 1
})
