/**
 * `pct` on the host (sandbox.md §5.1): list, status, config, exec (inner stdout/stderr/exit pass
 * through), push/pull (bytes between host and guest filesystems, `--perms/--user/--group`), snapshot,
 * delsnapshot, rollback, listsnapshot, start, stop, shutdown, reboot (the same tasks the API creates,
 * as `root@pam`).
 */
import { defineCommand, latin1FromBytes, type Command, type ExecResult } from "just-bash"
import type { LabState } from "../state/LabState.js"
import { ROOT, type Guest } from "../state/types.js"
import type { Machine } from "../machines/Machine.js"
import type { Machines } from "../machines/Machines.js"
import * as Paths from "../machines/Paths.js"
import { die, paramError, parse, renderConfigLines, runTask, snapshotTree, vmidError } from "./PveCli.js"
import { argvLine, fail, ok } from "./Result.js"

const USAGE: Record<string, string> = {
  list: "pct list",
  status: "pct status <vmid> [OPTIONS]",
  config: "pct config <vmid> [OPTIONS]",
  exec: "pct exec <vmid> [<extra-args>]",
  push: "pct push <vmid> <file> <destination> [OPTIONS]",
  pull: "pct pull <vmid> <path> <destination> [OPTIONS]",
  snapshot: "pct snapshot <vmid> <snapname> [OPTIONS]",
  delsnapshot: "pct delsnapshot <vmid> <snapname> [OPTIONS]",
  rollback: "pct rollback <vmid> <snapname> [OPTIONS]",
  listsnapshot: "pct listsnapshot <vmid>",
  start: "pct start <vmid> [OPTIONS]",
  stop: "pct stop <vmid> [OPTIONS]",
  shutdown: "pct shutdown <vmid> [OPTIONS]",
  reboot: "pct reboot <vmid> [OPTIONS]"
}

const usageAll = () =>
  `USAGE: pct <COMMAND> [ARGS] [OPTIONS]\n${Object.values(USAGE)
    .map((u) => `       ${u}\n`)
    .join("")}`

/** Looks up a CT; error text as PVE prints it. */
const ct = (lab: LabState, vmid: number): Guest | string => {
  const g = lab.getGuest(vmid)
  return g && g.type === "lxc" ? g : lab.missingConfigMessage(vmid, "lxc")
}

/** `pct` for the host machine. */
export const command = (lab: LabState, machines: Machines, host: Machine): Command =>
  defineCommand("pct", async (args, ctx): Promise<ExecResult> => {
    const verb = args[0]
    if (verb === undefined || verb === "help") return fail(255, usageAll())
    const usage = USAGE[verb]
    if (usage === undefined) return fail(255, `unknown command 'pct ${verb}'\n${usageAll()}`)
    if (verb === "list") {
      const guests = lab.listGuests("lxc")
      if (guests.length === 0) return ok()
      const row = (a: string, b: string, c: string, d: string) => `${a.padEnd(10)} ${b.padEnd(10)} ${c.padEnd(12)} ${d.padEnd(20)}\n`
      let out = row("VMID", "Status", "Lock", "Name")
      for (const g of guests) out += row(String(g.vmid), g.status, g.config["lock"] ?? "", lab.guestName(g))
      return ok(out)
    }
    const flags = verb === "exec" ? [] : ["force", "start", "skiplock", "forceStop", "current"]
    const p = parse(args.slice(1), flags)
    const vmidText = p.positional[0]
    const bad = vmidError(vmidText)
    if (bad) return paramError({ vmid: bad }, usage)
    const vmid = Number(vmidText)
    const found = ct(lab, vmid)
    if (typeof found === "string") return die(found)
    const g = found
    const need = (n: number, names: ReadonlyArray<string>): ExecResult | undefined => {
      const errors: Record<string, string> = {}
      for (let i = 0; i < names.length; i++) if (p.positional[i + 1] === undefined) errors[names[i]!] = "property is missing and it is not optional"
      return Object.keys(errors).length > 0 || p.positional.length < n ? paramError(errors, usage) : undefined
    }
    switch (verb) {
      case "status":
        return ok(`status: ${g.status}\n`)
      case "config": {
        if (p.options["snapshot"] !== undefined) {
          const s = g.snapshots.get(p.options["snapshot"])
          if (!s) return die(`snapshot '${p.options["snapshot"]}' does not exist`)
          return ok(renderConfigLines({ ...s.config, ...(s.parent !== undefined ? { parent: s.parent } : {}), snaptime: String(s.snaptime) }, s.rawLxc))
        }
        return ok(renderConfigLines(g.config, g.rawLxc))
      }
      case "exec": {
        const argv = p.rest ?? p.positional.slice(1)
        if (g.status !== "running") return die(`container '${vmid}' not running!`)
        if (argv.length === 0) return die("missing command")
        const guest = machines.guest(vmid)!
        const r = await guest.execBytes({
          command: argvLine(argv),
          stdin: Buffer.from(latin1FromBytes(ctx.stdin), "latin1"),
          ...(ctx.signal ? { signal: ctx.signal } : {})
        })
        let stderr = Buffer.from(r.stderr).toString("utf8")
        const nf = /^(?:bash|sh): ([^:\n]+): command not found\n?$/.exec(stderr)
        if (r.exitCode === 127 && nf && nf[1] === argv[0]) {
          stderr = `lxc-attach: ${vmid}: ../src/lxc/attach.c: lxc_attach_run_command: 1841 No such file or directory - Failed to exec "${argv[0]}"\n`
        }
        return { stdout: Buffer.from(r.stdout).toString("latin1"), stdoutKind: "bytes", stderr, exitCode: r.exitCode }
      }
      case "push": {
        const missing = need(3, ["file", "destination"])
        if (missing) return missing
        if (g.status !== "running") return die("can only push files to a running CT")
        const src = Paths.normalize(p.positional[1]!, ctx.cwd)
        const dest = p.positional[2]!
        let data: Uint8Array
        try {
          data = await host.vfs.readFileBuffer(src)
        } catch {
          return fail(0, `failed to open ${p.positional[1]}: No such file or directory\n`)
        }
        const perms = p.options["perms"]
        const mode = perms === undefined ? 0o644 : perms.startsWith("0x") ? parseInt(perms, 16) : parseInt(perms, 8)
        if (Number.isNaN(mode)) return paramError({ perms: `value '${perms}' does not look like a valid permission` }, usage)
        const uid = p.options["user"] === undefined ? 0 : Number(p.options["user"])
        const gid = p.options["group"] === undefined ? 0 : Number(p.options["group"])
        if (!Number.isInteger(uid) || !Number.isInteger(gid)) return paramError({ user: "type check ('integer') failed" }, usage)
        const guest = machines.guest(vmid)!
        await guest.settled()
        const target = Paths.normalize(dest, "/")
        const parent = await guest.vfs.stat(Paths.dirname(target)).catch(() => undefined)
        const existing = await guest.vfs.stat(target).catch(() => undefined)
        if (!parent?.isDirectory || existing?.isDirectory) return fail(0, `failed to open ${dest}: ${existing?.isDirectory ? "Is a directory" : "No such file or directory"}\n`)
        await guest.vfs.writeFile(target, data)
        await guest.vfs.chmod(target, mode & 0o7777)
        guest.owners.set(target, { uid, gid })
        return ok()
      }
      case "pull": {
        const missing = need(3, ["path", "destination"])
        if (missing) return missing
        if (g.status !== "running") return die("can only pull files from a running VM at /usr/share/perl5/PVE/CLI/pct.pm line 1034.")
        const guest = machines.guest(vmid)!
        await guest.settled()
        const from = Paths.normalize(p.positional[1]!, "/")
        const dest = Paths.normalize(p.positional[2]!, ctx.cwd)
        const destParent = await host.vfs.stat(Paths.dirname(dest)).catch(() => undefined)
        if (!destParent?.isDirectory) return fail(0, `failed to open ${p.positional[2]}: No such file or directory\n`)
        let data: Uint8Array
        try {
          const st = await guest.vfs.stat(from)
          if (st.isDirectory) throw new Error("dir")
          data = await guest.vfs.readFileBuffer(from)
        } catch {
          const mode = lab.flags.pctPullMissing
          const msg = `failed to open ${p.positional[1]}: No such file or directory\n`
          if (mode === "exit255") return fail(255, msg)
          if (mode === "exit0-empty") {
            const existed = await host.vfs.stat(dest).catch(() => undefined)
            await host.vfs.writeFile(dest, new Uint8Array())
            if (!existed) host.owners.remove(dest)
          }
          return fail(0, msg)
        }
        const existed = await host.vfs.stat(dest).catch(() => undefined)
        await host.vfs.writeFile(dest, data)
        if (!existed) {
          await host.vfs.chmod(dest, 0o644)
          host.owners.remove(dest)
        }
        return ok()
      }
      case "snapshot": {
        const missing = need(2, ["snapname"])
        if (missing) return missing
        const name = p.positional[1]!
        if (!/^[a-z][a-z0-9_-]+$/i.test(name)) return paramError({ snapname: `invalid format - invalid configuration ID '${name}'` }, usage)
        const desc = p.options["description"]
        return runTask(lab, lab.createSnapshot(vmid, name, ROOT, { type: "lxc", ...(desc !== undefined ? { description: desc } : {}) }), ctx.signal, { silent: true })
      }
      case "delsnapshot": {
        const missing = need(2, ["snapname"])
        if (missing) return missing
        return runTask(lab, lab.deleteSnapshot(vmid, p.positional[1]!, ROOT, { type: "lxc", ...(p.options["force"] === "1" ? { force: true } : {}) }), ctx.signal, { silent: true })
      }
      case "rollback": {
        const missing = need(2, ["snapname"])
        if (missing) return missing
        return runTask(lab, lab.rollbackSnapshot(vmid, p.positional[1]!, ROOT, { type: "lxc", ...(p.options["start"] === "1" ? { start: true } : {}) }), ctx.signal, { silent: true })
      }
      case "listsnapshot":
        return ok(snapshotTree(lab, vmid))
      case "start":
        return runTask(lab, lab.startGuest(vmid, ROOT, { type: "lxc" }), ctx.signal, { silent: true })
      case "stop":
        return runTask(lab, lab.stopGuest(vmid, ROOT, { type: "lxc" }), ctx.signal, { silent: true })
      case "shutdown": {
        const timeout = p.options["timeout"]
        return runTask(
          lab,
          lab.shutdownGuest(vmid, ROOT, { type: "lxc", ...(timeout !== undefined ? { timeout: Number(timeout) } : {}), ...(p.options["forceStop"] === "1" ? { forceStop: true } : {}) }),
          ctx.signal,
          { silent: true }
        )
      }
      case "reboot":
        return runTask(lab, lab.rebootGuest(vmid, ROOT, { type: "lxc" }), ctx.signal, { silent: true })
      default:
        return fail(255, usageAll())
    }
  })
