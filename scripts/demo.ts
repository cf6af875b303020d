/**
 * `pnpm demo` (after `pnpm build`): scripted MCP client sessions against `homelab-mcp serve --sandbox`,
 * printing each call and a readable rendering of its result. At operate: the census, the health
 * verdict, the guest lists, a stop refused and then confirmed, and the audit trail. At companion: an
 * in-guest command, a denied and a confirm-class command, a refused path, a write previewed, made,
 * listed and reverted, and the audit trail.
 */
import { fileURLToPath } from "node:url"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"

const BIN = fileURLToPath(new URL("../packages/server/dist/main.js", import.meta.url))

type Json = Record<string, any>

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s)
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s)

const renderers: Record<string, (out: Json) => Array<string>> = {
  describe_homelab: (d) => {
    const s = (d["sections"] ?? {}) as Json
    const gib = (b: number | null | undefined) => (typeof b === "number" ? `${(b / 2 ** 30).toFixed(1)} GiB` : "?")
    const guests = (list: Array<Json> | undefined) => (list ?? []).map((g) => `${g["vmid"]} ${g["name"]} (${g["status"]})`).join(", ")
    return [
      `node ${d["node"]} (${d["tier"]} tier, depth ${d["depth"]}): ${s["node"]?.version ?? "?"}, kernel ${s["node"]?.kernel ?? "?"}, ${s["node"]?.uptime ?? "uptime ?"}, memory ${gib(s["node"]?.memUsedBytes)} of ${gib(s["node"]?.memBytes)}`,
      `storage: ${(s["storage"] ?? []).map((x: Json) => `${x["name"]} (${x["type"]}, ${gib(x["usedBytes"])} used)`).join(", ")}`,
      `containers: ${guests(s["containers"])}`,
      `vms: ${guests(s["vms"])}`,
      `services: ${JSON.stringify(s["services"] ?? null)}`,
      `probe errors: ${(d["errors"] ?? []).length}, redactions: ${d["redactions"]}, snapshot saved: ${d["snapshotId"] ?? "no"}`
    ]
  },
  health_check: (h) => [
    `status ${String(h["status"]).toUpperCase()} (complete: ${h["complete"]})`,
    ...(h["findings"] ?? []).filter((f: Json) => f["status"] !== "ok").map((f: Json) => `  ${f["status"]}: ${f["finding"]}`),
    `  ${(h["findings"] ?? []).filter((f: Json) => f["status"] === "ok").length} checks ok; unavailable at this tier: ${(h["unavailable"] ?? []).map((u: Json) => u["check"] ?? u["section"] ?? JSON.stringify(u)).join(", ")}`
  ],
  pct_list: (o) => o["containers"].map((c: Json) => `  CT ${c["vmid"]} ${c["name"].padEnd(12)} ${c["status"].padEnd(8)} tags: ${c["tags"].join(",") || "-"}`),
  qm_list: (o) => o["vms"].map((v: Json) => `  VM ${v["vmid"]} ${v["name"].padEnd(12)} ${v["status"].padEnd(8)} ${v["memMB"]} MB, ${v["bootDiskGB"]} GB${v["pid"] ? `, pid ${v["pid"]}` : ""}`),
  guest_start: (o) => [`guest ${o["vmid"]} (${o["guestType"]}) is ${o["status"]}${o["alreadyRunning"] ? " (already running, nothing sent)" : `; task ${o["taskStatus"]} in ${o["durationMs"]} ms`}`],
  guest_stop: (o) => [`guest ${o["vmid"]} (${o["guestType"]}) is ${o["status"]} (${o["mode"]} stop${o["alreadyStopped"] ? ", already stopped" : `, task ${o["taskStatus"]}`})`],
  pct_exec: (o) => [`exit ${o["exitCode"] ?? `none (signal ${o["signal"]})`} via ${o["shell"]}${o["confirmGated"] ? ", confirmed" : ""}${o["heavy"] ? ` [heavy: ${o["heavyReason"]}]` : ""}`, ...String(o["stdout"]).trimEnd().split("\n").slice(0, 6).map((l) => `  | ${l}`)],
  pct_read_file: (o) => [`${o["path"]}${o["resolvedPath"] ? ` -> ${o["resolvedPath"]}` : ""}: ${o["bytes"]} bytes${o["redacted"] ? `, ${o["redactionCount"]} secrets masked` : ""}`, ...String(o["content"]).trimEnd().split("\n").slice(0, 8).map((l) => `  | ${l}`)],
  pct_write_file: (o) =>
    o["dryRun"]
      ? [`dry run: ${o["newFile"] ? "new file" : "changes"} +${o["addedLines"]} -${o["removedLines"]}, backup ${o["backupKind"]}, revertible ${o["wouldBeRevertible"]}; nothing written`, ...String(o["diff"] ?? "").trimEnd().split("\n").slice(0, 10).map((l) => `  | ${l}`)]
      : [`wrote ${o["bytes"]} bytes (${o["newFile"] ? "new file" : `+${o["addedLines"]} -${o["removedLines"]}`}), backup ${o["versionId"]}, revertible ${o["revertible"]}, verified ${o["verified"]}${o["isLargeChange"] ? `, large change: ${o["largeChangeReasons"].join(", ")}` : ""}`],
  list_backups: (o) => [`${o["target"]}: ${o["total"]} versions`, ...o["versions"].map((v: Json) => `  ${v["versionId"]}  ${String(v["tool"]).padEnd(15)} ${String(v["kind"]).padEnd(6)} revertible ${v["revertible"]}${v["revertReason"] ? ` (${v["revertReason"]})` : ""}`)],
  diff_config: (o) => [`revert ${o["target"]} to ${o["versionId"]}: revertible ${o["revertible"]}`, ...String(o["diff"] ?? "").trimEnd().split("\n").slice(0, 10).map((l) => `  | ${l}`)],
  revert_file: (o) => [`${o["action"]} ${o["target"]} from ${o["restoredFrom"]}; what it overwrote is kept as ${o["newVersionId"]} (verified ${o["verified"]})`],
  query_audit: (q) => [
    `${q["summary"]["total"]} operations, ${q["summary"]["refusals"]} refused, ${q["summary"]["confirmGated"]} confirm-gated${q["chain"] ? `; hash chain ${q["chain"]["ok"] ? "intact" : "BROKEN"} (${q["chain"]["checked"]} records)` : ""}`,
    ...q["items"].map((i: Json) => `  ${i["ts"]}  ${String(i["tool"]).padEnd(14)} guest ${i["vmid"] ?? "-"}  ${String(i["outcome"]).padEnd(8)}${i["confirmVia"] ? ` confirmed via ${i["confirmVia"]}` : ""}${i["refusal"] ? ` (${i["refusal"]["code"]})` : ""}`)
  ]
}

const render = (name: string, result: CallToolResult): Array<string> => {
  const out = result.structuredContent as Json
  if (result.isError === true) {
    const e = out["error"] as Json
    return [`REFUSED ${e["code"]}: ${e["message"]}`, dim(`hint: ${e["hint"]}`)]
  }
  const r = renderers[name]
  return r ? r(out) : [JSON.stringify(out).slice(0, 400)]
}

const session = async (tier: "operate" | "companion", script: ReadonlyArray<readonly [string, Record<string, unknown>, string]>) => {
  const dataDir = mkdtempSync(join(tmpdir(), "homelab-mcp-demo-"))
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, "serve", "--sandbox", "--tier", tier],
    env: { PATH: process.env["PATH"] ?? "", MCP_DATA_DIR: dataDir },
    stderr: "pipe"
  })
  let stderr = ""
  transport.stderr?.on("data", (c: Buffer) => (stderr += c.toString("utf8")))
  const client = new Client({ name: "homelab-mcp-demo", version: "1.0.0" })
  const t0 = Date.now()
  await client.connect(transport)
  const tools = await client.listTools()
  console.log(bold(`homelab-mcp demo: serve --sandbox --tier ${tier} (connected in ${Date.now() - t0} ms)`))
  console.log(dim(stderr.trim().split("\n").map((l) => `  stderr| ${l}`).join("\n")))
  console.log(`tools: ${tools.tools.map((t) => t.name).join(", ")}\n`)
  for (const [name, args, why] of script) {
    console.log(bold(`> ${name} ${JSON.stringify(args)}`) + dim(`   # ${why}`))
    const t = Date.now()
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult
    for (const line of render(name, result)) console.log(`  ${line}`)
    console.log(dim(`  (${Date.now() - t} ms)\n`))
  }
  await client.close()
  rmSync(dataDir, { recursive: true, force: true })
}

const main = async () => {
  await session("operate", [
    ["describe_homelab", { depth: "summary" }, "Census of the node"],
    ["health_check", {}, "Health verdict"],
    ["pct_list", {}, "Containers"],
    ["qm_list", {}, "Virtual machines"],
    ["guest_start", { vmid: 102 }, "Start the stopped Alpine container"],
    ["guest_start", { vmid: 102 }, "Start it again: idempotent, nothing is sent"],
    ["guest_stop", { vmid: 102 }, "Stop it without the user's agreement: refused, with the blast radius"],
    ["guest_stop", { vmid: 102, confirm: true }, "The user agreed: stop with confirm:true"],
    ["guest_stop", { vmid: 102, confirm: true, force: true }, "A mistyped parameter is rejected, never ignored"],
    ["query_audit", { verifyChain: true }, "The audit trail"]
  ])
  const hosts = "127.0.0.1 localhost\n10.0.0.53 dns.lab\n"
  await session("companion", [
    ["pct_exec", { vmid: 100, command: "hostname; uname -a" }, "A command inside CT 100"],
    ["pct_exec", { vmid: 100, command: "bash -c 'rm -rf --no-preserve-root /'" }, "Denied on a real shell parse, before anything reaches the node"],
    ["pct_exec", { vmid: 100, command: "systemctl restart ssh" }, "Confirm-class: needs the user's agreement"],
    ["pct_read_file", { vmid: 100, path: "/etc/../etc/shadow" }, "Path traversal is refused"],
    ["pct_write_file", { vmid: 100, path: "/etc/hosts", content: hosts, dryRun: true }, "Preview a write: the diff, nothing changed"],
    ["pct_write_file", { vmid: 100, path: "/etc/hosts", content: hosts }, "Write it: the old bytes are backed up first"],
    ["list_backups", { vmid: 100, path: "/etc/hosts" }, "The backups of /etc/hosts"],
    ["diff_config", { vmid: 100, path: "/etc/hosts" }, "What a revert would do"],
    ["revert_file", { vmid: 100, path: "/etc/hosts" }, "Revert: the exact previous bytes come back"],
    ["query_audit", { verifyChain: true }, "Every exec, write, refusal and revert is in the hash-chained log"]
  ])
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
})
