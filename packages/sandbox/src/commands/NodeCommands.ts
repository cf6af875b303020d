/**
 * Node-level PVE tools on the host (sandbox.md §5.1): `pveversion [-v]`, `pvesm status|list`, `pveum`
 * (users, tokens, roles, ACLs, permissions), `vzdump`, `zpool status [-x]`, `apt-get -s … upgrade|
 * dist-upgrade` (simulation only, no lock, no change). `tailscale` is not installed on the host (127).
 */
import * as Either from "effect/Either"
import { defineCommand, type Command, type ExecResult } from "just-bash"
import type { LabError, LabState } from "../state/LabState.js"
import { ROOT } from "../state/types.js"
import { die, paramError, parse, runTask, sortedJson, vmidError } from "./PveCli.js"
import { fail, ok } from "./Result.js"

// -------------------------------------------------------------------------------------------------
// pveversion
// -------------------------------------------------------------------------------------------------

const pveversion = (lab: LabState): Command =>
  defineCommand("pveversion", async (args) => {
    const kernel = lab.node.kernel
    if (args.length === 0) return ok(`pve-manager/9.1.1/f4d3f125ffae50e9 (running kernel: ${kernel})\n`)
    if (args.length === 1 && (args[0] === "-v" || args[0] === "--verbose")) {
      let out = `proxmox-ve: 9.1.0 (running kernel: ${kernel})\npve-manager: 9.1.1 (running version: 9.1.1/f4d3f125ffae50e9)\n`
      for (const p of lab.packages) {
        if (p.Package === "proxmox-ve" || p.Package === "pve-manager") continue
        out += `${p.Package}: ${p.Version}\n`
      }
      return ok(out)
    }
    return fail(255, "USAGE: pveversion [--verbose]\n")
  })

// -------------------------------------------------------------------------------------------------
// pvesm
// -------------------------------------------------------------------------------------------------

const pvesm = (lab: LabState): Command =>
  defineCommand("pvesm", async (args) => {
    const verb = args[0]
    if (verb === "status") {
      const p = parse(args.slice(1))
      const stores = [...lab.stores.values()].filter((s) => p.options["storage"] === undefined || s.id === p.options["storage"]).sort((a, b) => (a.id < b.id ? -1 : 1))
      const maxlen = Math.max(4, ...stores.map((s) => s.id.length)) + 1
      const kib = lab.flags.pvesmHeader === "kib"
      const row = (a: string, b: string, c: string, d: string, e: string, f: string, g: string) =>
        `${a.padEnd(maxlen)} ${b.padStart(10)} ${c.padStart(10)} ${d.padStart(15)} ${e.padStart(15)} ${f.padStart(15)} ${g.padStart(8)}\n`
      let out = row("Name", "Type", "Status", kib ? "Total (KiB)" : "Total", kib ? "Used (KiB)" : "Used", kib ? "Available (KiB)" : "Available", "%")
      for (const s of stores) {
        if (s.enabled === 0) {
          out += row(s.id, s.type, "disabled", "0", "0", "0", "N/A")
          continue
        }
        const u = lab.storeUsage(s.id)
        const pct = u.total > 0 ? `${((u.used * 100) / u.total).toFixed(2)}%` : "0.00%"
        out += row(s.id, s.type, s.active === 1 ? "active" : "inactive", String(Math.floor(u.total / 1024)), String(Math.floor(u.used / 1024)), String(Math.floor(u.avail / 1024)), pct)
      }
      return ok(out)
    }
    if (verb === "list") {
      const p = parse(args.slice(1))
      const id = p.positional[0]
      if (id === undefined) return paramError({ storage: "property is missing and it is not optional" }, "pvesm list <storage> [OPTIONS]")
      const s = lab.stores.get(id)
      if (!s) return die(`storage '${id}' does not exist`)
      const content = p.options["content"]
      const vmid = p.options["vmid"]
      const vols = s.volumes.filter((v) => (content === undefined || v.content === content) && (vmid === undefined || String(v.vmid) === vmid)).sort((a, b) => (a.volid < b.volid ? -1 : 1))
      if (vols.length === 0) return ok()
      const w = Math.max(5, ...vols.map((v) => v.volid.length))
      const row = (a: string, b: string, c: string, d: string, e: string) => `${a.padEnd(w)} ${b.padEnd(6)} ${c.padEnd(8)} ${d.padStart(12)} ${e}\n`
      let out = row("Volid", "Format", "Type", "Size", "VMID")
      for (const v of vols) out += row(v.volid, v.format, v.content, String(v.size), v.vmid === undefined ? "" : String(v.vmid))
      return ok(out)
    }
    return fail(255, "USAGE: pvesm <COMMAND> [ARGS] [OPTIONS]\n       pvesm list <storage> [OPTIONS]\n       pvesm status  [OPTIONS]\n")
  })

// -------------------------------------------------------------------------------------------------
// pveum
// -------------------------------------------------------------------------------------------------

const list = (v: string | undefined) => (v === undefined ? [] : v.split(/[,;\s]+/).filter((x) => x !== ""))
const leftMsg = (e: Either.Either<unknown, LabError>): ExecResult | undefined => (Either.isLeft(e) ? die(e.left.status === 400 && !e.left.message.includes(":") ? `400 ${e.left.message}` : e.left.message) : undefined)

const pveum = (lab: LabState): Command =>
  defineCommand("pveum", async (args) => {
    const [a0, a1, a2] = args
    const sub = (n: number) => parse(args.slice(n))
    const json = (p: ReturnType<typeof parse>) => p.options["output-format"] === "json" || p.options["output-format"] === "json-pretty"
    // user token …
    if (a0 === "user" && a1 === "token") {
      const p = sub(3)
      const [userid, tokenid] = p.positional
      if (a2 === "add") {
        if (userid === undefined || tokenid === undefined) return paramError({ tokenid: "property is missing and it is not optional" }, "pveum user token add <userid> <tokenid> [OPTIONS] [FORMAT_OPTIONS]")
        const privsep = p.options["privsep"] === undefined ? 1 : p.options["privsep"] === "0" ? 0 : 1
        const r = lab.addToken(userid, tokenid, { privsep, ...(p.options["expire"] !== undefined ? { expire: Number(p.options["expire"]) } : {}), ...(p.options["comment"] !== undefined ? { comment: p.options["comment"] } : {}) })
        if (Either.isLeft(r)) return die(r.left.message)
        const t = r.right
        const data = { "full-tokenid": `${userid}!${tokenid}`, info: { privsep: t.privsep, ...(t.expire ? { expire: t.expire } : {}), ...(t.comment ? { comment: t.comment } : {}) }, value: t.secret }
        if (json(p)) return ok(`${sortedJson(data)}\n`)
        return ok(tokenTable(data))
      }
      if (a2 === "remove" || a2 === "delete") {
        if (userid === undefined || tokenid === undefined) return paramError({ tokenid: "property is missing and it is not optional" }, "pveum user token remove <userid> <tokenid> [FORMAT_OPTIONS]")
        return leftMsg(lab.removeToken(userid, tokenid)) ?? ok()
      }
      if (a2 === "list") {
        if (userid === undefined) return paramError({ userid: "property is missing and it is not optional" }, "pveum user token list <userid> [FORMAT_OPTIONS]")
        if (!lab.users.has(userid)) return die(`no such user ('${userid}')`)
        const tokens = [...lab.tokens.values()].filter((t) => t.userid === userid).sort((x, y) => (x.tokenid < y.tokenid ? -1 : 1)).map((t) => ({ expire: t.expire, privsep: t.privsep, tokenid: t.tokenid, ...(t.comment ? { comment: t.comment } : {}) }))
        if (json(p)) return ok(`${sortedJson(tokens)}\n`)
        return ok(tokens.map((t) => `${t.tokenid} privsep=${t.privsep} expire=${t.expire}\n`).join(""))
      }
      return fail(255, "USAGE: pveum user token <add|list|modify|permissions|remove> …\n")
    }
    if (a0 === "user" && (a1 === "add" || a1 === "create")) {
      const p = sub(2)
      const userid = p.positional[0]
      if (userid === undefined) return paramError({ userid: "property is missing and it is not optional" }, "pveum user add <userid> [OPTIONS]")
      const r = lab.addUser(userid, {
        ...(p.options["comment"] !== undefined ? { comment: p.options["comment"] } : {}),
        ...(p.options["email"] !== undefined ? { email: p.options["email"] } : {}),
        ...(p.options["enable"] !== undefined ? { enable: p.options["enable"] === "0" ? (0 as const) : (1 as const) } : {})
      })
      return leftMsg(r) ?? ok()
    }
    if (a0 === "user" && a1 === "delete") {
      const userid = sub(2).positional[0]
      if (userid === undefined) return paramError({ userid: "property is missing and it is not optional" }, "pveum user delete <userid>")
      return leftMsg(lab.deleteUser(userid)) ?? ok()
    }
    if (a0 === "user" && a1 === "list") {
      const p = sub(2)
      const users = [...lab.users.values()].sort((x, y) => (x.userid < y.userid ? -1 : 1)).map((u) => ({ userid: u.userid, enable: u.enable, expire: u.expire, ...(u.email ? { email: u.email } : {}), ...(u.comment ? { comment: u.comment } : {}) }))
      if (json(p)) return ok(`${sortedJson(users)}\n`)
      return ok(users.map((u) => `${u.userid}\n`).join(""))
    }
    if (a0 === "user" && a1 === "permissions") {
      const p = sub(2)
      const who = p.positional[0] ?? "root@pam"
      const path = p.options["path"]
      const paths = path !== undefined ? [path] : ["/", "/access", "/nodes", `/nodes/${lab.nodeName}`, "/storage", "/vms", "/pool"]
      const data: Record<string, Record<string, number>> = {}
      for (const pp of paths) {
        const privs = lab.permissions(who, pp)
        const entries = privs instanceof Map ? [...privs.entries()] : Object.entries(privs)
        if (entries.length > 0) data[pp] = Object.fromEntries(entries.map(([k, v]) => [k, Number(v)]))
      }
      return ok(`${sortedJson(data)}\n`)
    }
    if (a0 === "role" && (a1 === "add" || a1 === "create" || a1 === "modify")) {
      const p = sub(2)
      const roleid = p.positional[0]
      if (roleid === undefined) return paramError({ roleid: "property is missing and it is not optional" }, `pveum role ${a1} <roleid> [OPTIONS]`)
      const privs = list(p.options["privs"])
      const r = a1 === "modify" ? lab.modifyRole(roleid, privs, p.options["append"] === "1") : lab.addRole(roleid, privs)
      return leftMsg(r) ?? ok()
    }
    if (a0 === "role" && a1 === "delete") {
      const roleid = sub(2).positional[0]
      if (roleid === undefined) return paramError({ roleid: "property is missing and it is not optional" }, "pveum role delete <roleid>")
      return leftMsg(lab.deleteRole(roleid)) ?? ok()
    }
    if (a0 === "role" && a1 === "list") {
      const p = sub(2)
      const roles = [...lab.roles.values()].sort((x, y) => (x.roleid < y.roleid ? -1 : 1)).map((r) => ({ roleid: r.roleid, privs: r.privs.join(","), special: r.special }))
      if (json(p)) return ok(`${sortedJson(roles)}\n`)
      return ok(roles.map((r) => `${r.roleid} ${r.privs}\n`).join(""))
    }
    if (a0 === "acl" && (a1 === "modify" || a1 === "delete")) {
      const p = sub(2)
      const path = p.positional[0]
      if (path === undefined) return paramError({ path: "property is missing and it is not optional" }, `pveum acl ${a1} <path> --roles <string> [OPTIONS]`)
      const roles = list(p.options["roles"])
      if (roles.length === 0) return paramError({ roles: "property is missing and it is not optional" }, `pveum acl ${a1} <path> --roles <string> [OPTIONS]`)
      const subjects = {
        ...(p.options["users"] !== undefined ? { users: list(p.options["users"]) } : {}),
        ...(p.options["groups"] !== undefined ? { groups: list(p.options["groups"]) } : {}),
        ...(p.options["tokens"] !== undefined ? { tokens: list(p.options["tokens"]) } : {})
      }
      if (a1 === "delete") {
        lab.deleteAcl(path, subjects, roles)
        return ok()
      }
      return leftMsg(lab.modifyAcl(path, subjects, roles, p.options["propagate"] === "0" ? 0 : 1)) ?? ok()
    }
    if (a0 === "acl" && a1 === "list") {
      const p = sub(2)
      const entries = lab.acl.map((e) => ({ path: e.path, propagate: e.propagate, roleid: e.roleid, type: e.type, ugid: e.ugid }))
      if (json(p)) return ok(`${sortedJson(entries)}\n`)
      return ok(entries.map((e) => `${e.path} ${e.type} ${e.ugid} ${e.roleid} ${e.propagate}\n`).join(""))
    }
    return fail(255, "USAGE: pveum <COMMAND> [ARGS] [OPTIONS]\n       pveum acl delete <path> --roles <string> [OPTIONS]\n       pveum acl list  [FORMAT_OPTIONS]\n       pveum acl modify <path> --roles <string> [OPTIONS]\n       pveum role add <roleid> [OPTIONS]\n       pveum role delete <roleid>\n       pveum role list  [FORMAT_OPTIONS]\n       pveum role modify <roleid> [OPTIONS]\n       pveum user add <userid> [OPTIONS]\n       pveum user delete <userid>\n       pveum user list  [OPTIONS] [FORMAT_OPTIONS]\n       pveum user permissions [<userid>] [OPTIONS] [FORMAT_OPTIONS]\n       pveum user token add <userid> <tokenid> [OPTIONS] [FORMAT_OPTIONS]\n       pveum user token list <userid> [FORMAT_OPTIONS]\n       pveum user token remove <userid> <tokenid> [FORMAT_OPTIONS]\n")
  })

const tokenTable = (data: { "full-tokenid": string; info: { privsep: number }; value: string }): string => {
  const rows: Array<[string, string]> = [
    ["full-tokenid", data["full-tokenid"]],
    ["info", JSON.stringify(data.info)],
    ["value", data.value]
  ]
  const w1 = Math.max(3, ...rows.map((r) => r[0].length))
  const w2 = Math.max(5, ...rows.map((r) => r[1].length))
  const line = (l: string, m: string, r: string) => `${l}${"─".repeat(w1 + 2)}${m}${"─".repeat(w2 + 2)}${r}\n`
  let out = line("┌", "┬", "┐") + `│ ${"key".padEnd(w1)} │ ${"value".padEnd(w2)} │\n` + line("╞", "╪", "╡").replace(/─/g, "═")
  rows.forEach((r, i) => {
    out += `│ ${r[0].padEnd(w1)} │ ${r[1].padEnd(w2)} │\n`
    if (i < rows.length - 1) out += line("├", "┼", "┤")
  })
  return out + line("└", "┴", "┘")
}

// -------------------------------------------------------------------------------------------------
// vzdump
// -------------------------------------------------------------------------------------------------

const vzdump = (lab: LabState): Command =>
  defineCommand("vzdump", async (args, ctx) => {
    const p = parse(args, ["remove", "protected", "all", "quiet"])
    const vmidText = p.positional[0]
    const bad = vmidError(vmidText)
    if (bad) return paramError({ vmid: bad }, "vzdump {<vmid>} [OPTIONS]")
    const storage = p.options["storage"] ?? "local"
    const mode = (p.options["mode"] ?? "snapshot") as "snapshot" | "suspend" | "stop"
    const notes = p.options["notes-template"]
    return runTask(
      lab,
      lab.backupGuest(Number(vmidText), storage, ROOT, { mode, ...(notes !== undefined ? { notes } : {}), ...(p.options["protected"] === "1" ? { protected: true } : {}), ident: "vzdump" }),
      ctx.signal
    )
  })

// -------------------------------------------------------------------------------------------------
// zpool
// -------------------------------------------------------------------------------------------------

const zpool = (lab: LabState): Command =>
  defineCommand("zpool", async (args) => {
    if (args[0] === "list") {
      const pools = lab.zfsPools
      if (pools.length === 0) return ok("no pools available\n")
      const gib = (n: number) => (n >= 1024 ** 4 ? `${(n / 1024 ** 4).toFixed(2)}T` : `${(n / 1024 ** 3).toFixed(1)}G`)
      let out = "NAME    SIZE  ALLOC   FREE  CKPOINT  EXPANDSZ   FRAG    CAP  DEDUP    HEALTH  ALTROOT\n"
      for (const p of pools) out += `${p.name.padEnd(6)} ${gib(p.size).padStart(5)} ${gib(p.alloc).padStart(6)} ${gib(p.size - p.alloc).padStart(6)}        -         -    ${String(p.frag).padStart(2)}%    ${String(Math.round((p.alloc * 100) / p.size)).padStart(2)}%  ${p.dedup.toFixed(2)}x    ${p.health.padEnd(7)}  -\n`
      return ok(out)
    }
    if (args[0] !== "status") return fail(2, `unrecognized command '${args[0] ?? ""}'\nusage: zpool command args ...\n`)
    const onlyUnhealthy = args.includes("-x")
    const pools = lab.zfsPools
    if (pools.length === 0) return ok("no pools available\n")
    const shown = onlyUnhealthy ? pools.filter((p) => p.health !== "ONLINE") : pools
    if (shown.length === 0) return ok("all pools are healthy\n")
    let out = ""
    for (const p of shown) {
      const degraded = p.health !== "ONLINE"
      out += `  pool: ${p.name}\n state: ${p.health}\n`
      if (degraded) {
        out += "status: One or more devices could not be used because the label is missing or\n\tinvalid.  Sufficient replicas exist for the pool to continue\n\tfunctioning in a degraded state.\naction: Replace the device using 'zpool replace'.\n   see: https://openzfs.github.io/openzfs-docs/msg/ZFS-8000-4J\n"
      }
      out += `  scan: scrub repaired 0B in 02:41:17 with 0 errors on Sun Feb  8 03:05:18 2026\nconfig:\n\n\tNAME                                 STATE     READ WRITE CKSUM\n\t${p.name.padEnd(36)} ${p.health.padEnd(8)}  0     0     0\n\t  mirror-0                           ${p.health.padEnd(8)}  0     0     0\n\t    ata-WDC_WD40EFPX-68C6CN0_WD-WX12A3 ONLINE       0     0     0\n\t    ata-WDC_WD40EFPX-68C6CN0_WD-WX45B6 ${degraded ? "UNAVAIL      0     0     0  was /dev/sdb1" : "ONLINE       0     0     0"}\n\nerrors: No known data errors\n`
    }
    return ok(out)
  })

// -------------------------------------------------------------------------------------------------
// apt-get -s
// -------------------------------------------------------------------------------------------------

const aptGet = (lab: LabState): Command =>
  defineCommand("apt-get", async (args) => {
    let simulate = false
    let verb: string | undefined
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!
      if (a === "-s" || a === "--simulate" || a === "--just-print" || a === "--dry-run" || a === "--no-act" || a === "--recon") simulate = true
      else if (a === "-o" || a === "-c") i++
      else if (a.startsWith("-o") || a === "-y" || a === "-q" || a === "-qq" || a === "--yes" || a === "--quiet") continue
      else if (!a.startsWith("-") && verb === undefined) verb = a
    }
    if (verb !== "upgrade" && verb !== "dist-upgrade" && verb !== "full-upgrade") {
      if (verb === "update") return fail(100, "E: Could not open lock file /var/lib/apt/lists/lock - open (13: Permission denied)\nE: Unable to lock directory /var/lib/apt/lists/\n")
      return fail(100, `E: Invalid operation ${verb ?? ""}\n`)
    }
    if (!simulate) return fail(100, "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?\n")
    const ups = lab.aptUpdates.filter((u) => verb !== "upgrade" || !u.Package.startsWith("proxmox-kernel"))
    const origin = (o: string) => (o === "Proxmox" ? "Proxmox:9.1/trixie" : "Debian:13.2/stable, Debian-Security:13/stable-security")
    let out = "NOTE: This is only a simulation!\n      apt-get needs root privileges for real execution.\n      Keep also in mind that locking is deactivated,\n      so don't depend on the relevance to the real current situation!\nReading package lists...\nBuilding dependency tree...\nReading state information...\nCalculating upgrade...\n"
    if (ups.length > 0) {
      out += `The following packages will be upgraded:\n  ${ups.map((u) => u.Package).join(" ")}\n`
    }
    out += `${ups.length} upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n`
    for (const u of ups) out += `Inst ${u.Package} [${u.OldVersion}] (${u.Version} ${origin(u.Origin)} [${u.Arch}])\n`
    for (const u of ups) out += `Conf ${u.Package} (${u.Version} ${origin(u.Origin)} [${u.Arch}])\n`
    return ok(out)
  })

/** The node tools for the host machine. */
export const commands = (lab: LabState): ReadonlyArray<Command> => [pveversion(lab), pvesm(lab), pveum(lab), vzdump(lab), zpool(lab), aptGet(lab)]

/** `apt-get -s` for a Debian guest (its own pending updates: none by default). */
export const guestAptGet = (): Command =>
  defineCommand("apt-get", async (args) => {
    const simulate = args.some((a) => a === "-s" || a === "--simulate" || a === "--dry-run")
    const verb = args.find((a) => !a.startsWith("-") && !a.includes("="))
    if (!simulate) return fail(100, "E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: Permission denied)\n")
    if (verb !== "upgrade" && verb !== "dist-upgrade") return fail(100, `E: Invalid operation ${verb ?? ""}\n`)
    return ok("NOTE: This is only a simulation!\n      apt-get needs root privileges for real execution.\n      Keep also in mind that locking is deactivated,\n      so don't depend on the relevance to the real current situation!\nReading package lists...\nBuilding dependency tree...\nReading state information...\nCalculating upgrade...\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n")
  })
