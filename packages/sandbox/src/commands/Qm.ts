/**
 * `qm` on the host (sandbox.md §5.1): list (`%10s %-20s %-10s %-10s %12s %-10s`), status, config,
 * `guest cmd`/`agent` (Perl pretty JSON), `guest exec` (polls each virtual second; prints the JSON,
 * exit 0 even when the guest command failed; `--timeout` returns the pid), snapshots and lifecycle
 * verbs on the same tasks as the API.
 */
import { defineCommand, latin1FromBytes, type Command, type ExecResult } from "just-bash"
import type { LabState } from "../state/LabState.js"
import { ROOT, type Guest } from "../state/types.js"
import type { Machines } from "../machines/Machines.js"
import * as Agent from "./Agent.js"
import { die, paramError, parse, perlPretty, renderConfigLines, runTask, snapshotTree, vmidError } from "./PveCli.js"
import { fail, ok } from "./Result.js"

const USAGE: Record<string, string> = {
  list: "qm list  [OPTIONS]",
  status: "qm status <vmid> [OPTIONS]",
  config: "qm config <vmid> [OPTIONS]",
  guest: "qm guest cmd <vmid> <command>",
  agent: "qm agent <vmid> <command>",
  snapshot: "qm snapshot <vmid> <snapname> [OPTIONS]",
  delsnapshot: "qm delsnapshot <vmid> <snapname> [OPTIONS]",
  rollback: "qm rollback <vmid> <snapname> [OPTIONS]",
  listsnapshot: "qm listsnapshot <vmid>",
  start: "qm start <vmid> [OPTIONS]",
  stop: "qm stop <vmid> [OPTIONS]",
  shutdown: "qm shutdown <vmid> [OPTIONS]",
  reboot: "qm reboot <vmid> [OPTIONS]"
}
const EXEC_USAGE = "qm guest exec <vmid> [<extra-args>] [OPTIONS]"

const usageAll = () =>
  `USAGE: qm <COMMAND> [ARGS] [OPTIONS]\n${[...Object.values(USAGE), EXEC_USAGE]
    .map((u) => `       ${u}\n`)
    .join("")}`

const GiB = 1024 ** 3

const vm = (lab: LabState, vmid: number): Guest | string => {
  const g = lab.getGuest(vmid)
  return g && g.type === "qemu" ? g : lab.missingConfigMessage(vmid, "qemu")
}

/** `qm` for the host machine. */
export const command = (lab: LabState, machines: Machines): Command =>
  defineCommand("qm", async (args, ctx): Promise<ExecResult> => {
    const verb = args[0]
    if (verb === undefined || verb === "help") return fail(255, usageAll())
    if (verb === "list") {
      const guests = lab.listGuests("qemu")
      if (guests.length === 0) return ok()
      const row = (a: string, b: string, c: string, d: string, e: string, f: string) => `${a.padStart(10)} ${b.padEnd(20)} ${c.padEnd(10)} ${d.padEnd(10)} ${e.padStart(12)} ${f.padEnd(10)}\n`
      let out = row("VMID", "NAME", "STATUS", "MEM(MB)", "BOOTDISK(GB)", "PID")
      for (const g of guests) {
        out += row(String(g.vmid), lab.guestName(g), g.status, String(Math.round(lab.maxmem(g) / 1024 / 1024)), (lab.maxdisk(g) / GiB).toFixed(2), String(g.status === "running" ? (g.pid ?? 0) : 0))
      }
      return ok(out)
    }
    if (verb === "guest" || verb === "agent") {
      const sub = verb === "agent" ? "cmd" : args[1]
      const rest = verb === "agent" ? args.slice(1) : args.slice(2)
      if (sub === "exec") return guestExec(lab, machines, rest, ctx.stdin, ctx.signal)
      if (sub === "exec-status") {
        const p = parse(rest)
        try {
          return ok(`${perlPretty(Agent.execStatus(lab, Number(p.positional[0]), Number(p.positional[1])))}\n`)
        } catch (e) {
          return die(e instanceof Error ? e.message : String(e))
        }
      }
      if (sub !== "cmd") return fail(255, `unknown command 'qm guest ${sub ?? ""}'\n${usageAll()}`)
      const p = parse(rest)
      const bad = vmidError(p.positional[0])
      if (bad) return paramError({ vmid: bad }, USAGE["guest"]!)
      if (p.positional[1] === undefined) return paramError({ command: "property is missing and it is not optional" }, USAGE["guest"]!)
      try {
        const result = await Agent.command(lab, machines, Number(p.positional[0]), p.positional[1])
        if (result === undefined || (typeof result === "object" && result !== null && !Array.isArray(result) && Object.keys(result).length === 0)) return ok()
        if (typeof result !== "object" || result === null) return ok(`${String(result)}\n`)
        return ok(`${perlPretty(result)}\n`)
      } catch (e) {
        return die(e instanceof Error ? e.message : String(e))
      }
    }
    const usage = USAGE[verb]
    if (usage === undefined) return fail(255, `unknown command 'qm ${verb}'\n${usageAll()}`)
    const p = parse(args.slice(1), ["force", "start", "skiplock", "forceStop", "current"])
    const bad = vmidError(p.positional[0])
    if (bad) return paramError({ vmid: bad }, usage)
    const vmid = Number(p.positional[0])
    const found = vm(lab, vmid)
    if (typeof found === "string") return die(found)
    const g = found
    const snapname = () => (p.positional[1] === undefined ? paramError({ snapname: "property is missing and it is not optional" }, usage) : undefined)
    switch (verb) {
      case "status":
        return ok(`status: ${g.qmpstatus}\n`)
      case "config": {
        if (p.options["snapshot"] !== undefined) {
          const s = g.snapshots.get(p.options["snapshot"])
          if (!s) return die(`snapshot '${p.options["snapshot"]}' does not exist`)
          return ok(renderConfigLines({ ...s.config, ...(s.parent !== undefined ? { parent: s.parent } : {}), snaptime: String(s.snaptime), ...(s.vmstate !== undefined ? { vmstate: String(s.vmstate) } : {}) }, []))
        }
        return ok(renderConfigLines(g.config, []))
      }
      case "snapshot": {
        const m = snapname()
        if (m) return m
        const name = p.positional[1]!
        if (!/^[a-z][a-z0-9_-]+$/i.test(name)) return paramError({ snapname: `invalid format - invalid configuration ID '${name}'` }, usage)
        const desc = p.options["description"]
        return runTask(lab, lab.createSnapshot(vmid, name, ROOT, { type: "qemu", ...(desc !== undefined ? { description: desc } : {}), ...(p.options["vmstate"] === "1" ? { vmstate: true } : {}) }), ctx.signal, { silent: true })
      }
      case "delsnapshot": {
        const m = snapname()
        if (m) return m
        return runTask(lab, lab.deleteSnapshot(vmid, p.positional[1]!, ROOT, { type: "qemu", ...(p.options["force"] === "1" ? { force: true } : {}) }), ctx.signal, { silent: true })
      }
      case "rollback": {
        const m = snapname()
        if (m) return m
        return runTask(lab, lab.rollbackSnapshot(vmid, p.positional[1]!, ROOT, { type: "qemu", ...(p.options["start"] === "1" ? { start: true } : {}) }), ctx.signal, { silent: true })
      }
      case "listsnapshot":
        return ok(snapshotTree(lab, vmid))
      case "start":
        return runTask(lab, lab.startGuest(vmid, ROOT, { type: "qemu" }), ctx.signal, { silent: true })
      case "stop":
        return runTask(lab, lab.stopGuest(vmid, ROOT, { type: "qemu" }), ctx.signal, { silent: true })
      case "shutdown": {
        const timeout = p.options["timeout"]
        return runTask(lab, lab.shutdownGuest(vmid, ROOT, { type: "qemu", ...(timeout !== undefined ? { timeout: Number(timeout) } : {}), ...(p.options["forceStop"] === "1" ? { forceStop: true } : {}) }), ctx.signal, { silent: true })
      }
      case "reboot":
        return runTask(lab, lab.rebootGuest(vmid, ROOT, { type: "qemu" }), ctx.signal, { silent: true })
      default:
        return fail(255, usageAll())
    }
  })

/** `qm guest exec <vmid> [--timeout N] [--synchronous 0|1] [--pass-stdin 0|1] -- <cmd…>`. */
const guestExec = async (
  lab: LabState,
  machines: Machines,
  args: ReadonlyArray<string>,
  stdin: Parameters<typeof latin1FromBytes>[0],
  signal: AbortSignal | undefined
): Promise<ExecResult> => {
  const p = parse(args)
  const bad = vmidError(p.positional[0])
  if (bad) return paramError({ vmid: bad }, EXEC_USAGE)
  const vmid = Number(p.positional[0])
  const argv = p.rest ?? p.positional.slice(1)
  const timeout = p.options["timeout"] === undefined ? 30 : Number(p.options["timeout"])
  const synchronous = p.options["synchronous"] !== "0"
  let input: string | undefined
  if (p.options["pass-stdin"] === "1") {
    const data = latin1FromBytes(stdin)
    if (data.length > 1024 * 1024) return die("'input-data' (STDIN) is limited to 1 MiB, aborting")
    input = Buffer.from(data, "latin1").toString("utf8")
  }
  let started: { pid: number }
  try {
    started = Agent.exec(lab, machines, vmid, { command: argv, ...(input !== undefined ? { inputData: input } : {}) })
  } catch (e) {
    return die(e instanceof Error ? e.message : String(e))
  }
  if (!synchronous || timeout === 0) return ok(`${perlPretty(started)}\n`)
  for (let waited = 0; ; waited++) {
    let status: Record<string, unknown>
    try {
      status = Agent.execStatus(lab, vmid, started.pid)
    } catch (e) {
      return die(e instanceof Error ? e.message : String(e))
    }
    if (status["exited"] === 1) return ok(`${perlPretty(status)}\n`)
    if (waited >= timeout) return ok(`${perlPretty(started)}\n`, "timeout reached, returning pid\n")
    try {
      await machines.time.sleep(1000, signal)
    } catch {
      return fail(143, "")
    }
  }
}
