/**
 * Route handlers for every endpoint the product uses (sandbox.md §4.7), keyed by
 * `METHOD /template/path`. Each returns exactly the fields and JSON types Proxmox VE 9.1 sends
 * (0/1 booleans, strings where PVE sends strings), filtered per item where PVE filters.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { PROFILE_VERSION, type LabError, type LabState } from "../state/LabState.js"
import type { Guest, GuestType, JournalEntry, Principal, Task } from "../state/types.js"
import { ApiFailure, fail403, fail500, WithTotal, type Handler, type HandlerContext } from "./ApiCore.js"
import { propertyFor } from "./Validator.js"

const versionOf = (lab: LabState) => PROFILE_VERSION[lab.profile]

/** The usage fields `/nodes` and `/cluster/resources` report for the node, in Proxmox's order. */
const nodeMetrics = (lab: LabState, st: ReturnType<LabState["nodeStatus"]>) => ({
  cpu: st.cpu,
  maxcpu: lab.node.threads,
  mem: st.memUsed,
  maxmem: lab.node.memTotal,
  disk: st.rootfsUsed,
  maxdisk: lab.node.rootfsTotal,
  uptime: st.uptime
})

const principalOf = (ctx: HandlerContext): Principal =>
  ctx.caller.tokenid !== undefined ? { userid: ctx.caller.userid, tokenid: ctx.caller.tokenid } : { userid: ctx.caller.userid }

const taskResult = (e: Either.Either<Task, LabError>): Effect.Effect<string, ApiFailure> =>
  Either.isRight(e)
    ? Effect.succeed(e.right.upid)
    : Effect.fail(new ApiFailure({ status: e.left.status, message: e.left.message.endsWith("\n") ? e.left.message : `${e.left.message}\n` }))

const guestOf = (ctx: HandlerContext, type: GuestType): Effect.Effect<Guest, ApiFailure> => {
  const vmid = Number(ctx.params["vmid"])
  const g = ctx.lab.getGuest(vmid)
  if (!g || g.type !== type) return fail500(ctx.lab.missingConfigMessage(vmid, type))
  return Effect.succeed(g)
}


const month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
const p2 = (n: number) => String(n).padStart(2, "0")

/** A journal line in `short` format (`Mar 02 09:14:07 pve pvedaemon[1234]: …`). */
export const journalShort = (node: string, e: JournalEntry): string => {
  const d = new Date(Math.floor(e.time) * 1000)
  const ts = `${month[d.getUTCMonth()]} ${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`
  return `${ts} ${node} ${e.ident}${e.pid !== undefined && e.pid > 0 ? `[${e.pid}]` : ""}: ${e.message}`
}

// -------------------------------------------------------------------------------------------------
// Guest list rendering
// -------------------------------------------------------------------------------------------------

const pressure = (lab: LabState, g: Guest) =>
  lab.profile === "pve-8.4"
    ? {}
    : g.status === "running"
    ? { pressurecpusome: Number((g.metrics.cpuBase * 2).toFixed(2)), pressureiofull: 0, pressureiosome: 0, pressurememoryfull: 0, pressurememorysome: 0 }
    : { pressurecpusome: 0, pressureiofull: 0, pressureiosome: 0, pressurememoryfull: 0, pressurememorysome: 0 }

const lxcEntry = (lab: LabState, g: Guest): Record<string, unknown> => {
  const m = lab.guestMetrics(g)
  const out: Record<string, unknown> = {
    vmid: g.vmid,
    name: lab.guestName(g),
    status: g.status,
    type: "lxc",
    cpus: m.cpus,
    cpu: m.cpu,
    mem: m.mem,
    maxmem: m.maxmem,
    swap: m.swap,
    maxswap: m.maxswap,
    disk: m.disk,
    maxdisk: m.maxdisk,
    diskread: m.diskread,
    diskwrite: m.diskwrite,
    netin: m.netin,
    netout: m.netout,
    uptime: m.uptime,
    ...pressure(lab, g)
  }
  if (g.pid !== undefined) out["pid"] = g.pid
  if (g.config["tags"] !== undefined) out["tags"] = g.config["tags"]
  if (g.config["template"] === "1") out["template"] = 1
  if (g.config["lock"] !== undefined) out["lock"] = g.config["lock"]
  return out
}

const qemuEntry = (lab: LabState, g: Guest, full: boolean): Record<string, unknown> => {
  const m = lab.guestMetrics(g)
  const out: Record<string, unknown> = {
    vmid: g.vmid,
    name: lab.guestName(g),
    status: g.status,
    cpus: m.cpus,
    cpu: m.cpu,
    mem: m.mem,
    memhost: m.mem,
    maxmem: m.maxmem,
    disk: 0,
    maxdisk: m.maxdisk,
    diskread: m.diskread,
    diskwrite: m.diskwrite,
    netin: m.netin,
    netout: m.netout,
    uptime: m.uptime
  }
  if (g.status === "running" && lab.profile !== "pve-8.4") Object.assign(out, { pressurecpufull: 0, ...pressure(lab, g) })
  if (lab.profile === "pve-8.4") delete out["memhost"]
  if (g.pid !== undefined) out["pid"] = g.pid
  if (g.config["template"] === "1") out["template"] = 1
  if (g.config["serial0"] !== undefined) out["serial"] = 1
  if (g.config["lock"] !== undefined) out["lock"] = g.config["lock"]
  if (g.config["tags"] !== undefined) out["tags"] = g.config["tags"]
  if (full) {
    out["qmpstatus"] = g.qmpstatus
    if (g.status === "running") {
      out["running-machine"] = "pc-i440fx-10.1+pve0"
      out["running-qemu"] = "10.1.2"
    }
  }
  return out
}

const visibleGuests = (ctx: HandlerContext, type?: GuestType): Array<Guest> =>
  ctx.lab.listGuests(type).filter((g) => ctx.can(`/vms/${g.vmid}`, ["VM.Audit"]))

/** Config values typed per the return schema (integers/numbers/booleans as numbers). */
const typedConfig = (ctx: HandlerContext, config: Record<string, string>): Record<string, unknown> => {
  const props = ctx.endpoint.returns.properties ?? {}
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(config)) {
    const p = propertyFor(props, k)
    const numeric = k === "snaptime" || (p !== undefined && (p.type === "integer" || p.type === "number" || p.type === "boolean"))
    if (numeric && /^-?\d+(\.\d+)?$/.test(v)) out[k] = Number(v)
    else out[k] = v
  }
  return out
}

// -------------------------------------------------------------------------------------------------
// Guest handlers, shared by lxc and qemu
// -------------------------------------------------------------------------------------------------

const guestHandlers = (type: GuestType): Record<string, Handler> => {
  const base = `/nodes/{node}/${type}`
  return {
    [`GET ${base}`]: (ctx) =>
      Effect.sync(() =>
        visibleGuests(ctx, type).map((g) => (type === "lxc" ? lxcEntry(ctx.lab, g) : qemuEntry(ctx.lab, g, ctx.params["full"] === 1)))
      ),
    [`GET ${base}/{vmid}/status/current`]: (ctx) =>
      Effect.map(guestOf(ctx, type), (g) => {
        if (type === "lxc") return { ...lxcEntry(ctx.lab, g), ha: { managed: 0 } }
        const out: Record<string, unknown> = { ...qemuEntry(ctx.lab, g, true), ha: { managed: 0 } }
        const agent = g.config["agent"]
        if (agent !== undefined && agent !== "0" && !agent.startsWith("enabled=0")) out["agent"] = 1
        if (g.status === "running") {
          const m = ctx.lab.guestMetrics(g)
          out["balloon"] = m.maxmem
          out["ballooninfo"] = { actual: m.maxmem, max_mem: m.maxmem, free_mem: m.maxmem - m.mem, total_mem: m.maxmem, mem_swapped_in: 0, mem_swapped_out: 0, major_page_faults: 812, minor_page_faults: 2311025, last_update: ctx.lab.nowInt() }
          out["freemem"] = m.maxmem - m.mem
          out["blockstat"] = { scsi0: { rd_bytes: m.diskread, wr_bytes: m.diskwrite, rd_operations: Math.floor(m.diskread / 4096), wr_operations: Math.floor(m.diskwrite / 4096) } }
          out["nics"] = { [`tap${g.vmid}i0`]: { netin: m.netin, netout: m.netout } }
          out["proxmox-support"] = { "pbs-dirty-bitmap": true, "pbs-dirty-bitmap-migration": true, "pbs-masterkey": true, "query-bitmap-info": true, "backup-max-workers": true }
        }
        return out
      }),
    [`GET ${base}/{vmid}/config`]: (ctx) =>
      Effect.flatMap(guestOf(ctx, type), (g) => {
        const snapname = ctx.params["snapshot"]
        let config: Record<string, string> = g.config
        let raw = g.rawLxc
        if (typeof snapname === "string") {
          const s = g.snapshots.get(snapname)
          if (!s) return fail500(`snapshot '${snapname}' does not exist`)
          config = { ...s.config, snaptime: String(s.snaptime), ...(s.parent !== undefined ? { parent: s.parent } : {}) }
          if (s.description.length > 0) config["description"] = s.description
          raw = s.rawLxc
        }
        const out: Record<string, unknown> = { ...typedConfig(ctx, config), digest: ctx.lab.configDigest(g) }
        if (type === "lxc" && raw.length > 0) out["lxc"] = raw.map(([k, v]) => [k, v])
        return Effect.succeed(out)
      }),
    [`POST ${base}/{vmid}/status/start`]: (ctx) =>
      Effect.flatMap(guestOf(ctx, type), () => taskResult(ctx.lab.startGuest(Number(ctx.params["vmid"]), principalOf(ctx), { type }))),
    [`POST ${base}/{vmid}/status/stop`]: (ctx) =>
      Effect.flatMap(guestOf(ctx, type), () => taskResult(ctx.lab.stopGuest(Number(ctx.params["vmid"]), principalOf(ctx), { type }))),
    [`POST ${base}/{vmid}/status/shutdown`]: (ctx) =>
      Effect.flatMap(guestOf(ctx, type), () =>
        taskResult(
          ctx.lab.shutdownGuest(Number(ctx.params["vmid"]), principalOf(ctx), {
            type,
            ...(typeof ctx.params["timeout"] === "number" ? { timeout: ctx.params["timeout"] } : {}),
            forceStop: ctx.params["forceStop"] === 1
          })
        )
      ),
    [`POST ${base}/{vmid}/status/reboot`]: (ctx) =>
      Effect.flatMap(guestOf(ctx, type), (g) => {
        if (type === "lxc" && g.status !== "running") return fail500(`VM ${g.vmid} not running`)
        return taskResult(ctx.lab.rebootGuest(g.vmid, principalOf(ctx), { type }))
      }),
    [`GET ${base}/{vmid}/snapshot`]: (ctx) =>
      Effect.map(guestOf(ctx, type), (g) =>
        ctx.lab.listSnapshots(g.vmid).map((e) => {
          if (e.kind === "current") {
            return { name: "current", description: "You are here!", running: e.running, digest: e.digest, ...(e.parent !== undefined ? { parent: e.parent } : {}) }
          }
          const s = e.snapshot
          return {
            name: s.name,
            description: s.description,
            snaptime: s.snaptime,
            ...(s.parent !== undefined ? { parent: s.parent } : {}),
            ...(s.snapstate !== undefined ? { snapstate: s.snapstate } : {}),
            ...(type === "qemu" && s.vmstate !== undefined ? { vmstate: s.vmstate } : {})
          }
        })
      ),
    [`POST ${base}/{vmid}/snapshot`]: (ctx) =>
      Effect.flatMap(guestOf(ctx, type), (g) =>
        taskResult(
          ctx.lab.createSnapshot(g.vmid, String(ctx.params["snapname"]), principalOf(ctx), {
            type,
            ...(typeof ctx.params["description"] === "string" ? { description: ctx.params["description"] } : {}),
            vmstate: ctx.params["vmstate"] === 1
          })
        )
      ),
    [`DELETE ${base}/{vmid}/snapshot/{snapname}`]: (ctx) =>
      Effect.flatMap(guestOf(ctx, type), (g) =>
        taskResult(ctx.lab.deleteSnapshot(g.vmid, String(ctx.params["snapname"]), principalOf(ctx), { type, force: ctx.params["force"] === 1 }))
      ),
    [`POST ${base}/{vmid}/snapshot/{snapname}/rollback`]: (ctx) =>
      Effect.flatMap(guestOf(ctx, type), (g) =>
        taskResult(ctx.lab.rollbackSnapshot(g.vmid, String(ctx.params["snapname"]), principalOf(ctx), { type, start: ctx.params["start"] === 1 }))
      )
  }
}

// -------------------------------------------------------------------------------------------------
// Node, cluster, storage
// -------------------------------------------------------------------------------------------------

const SERVICES: ReadonlyArray<[string, string]> = [
  ["chrony", "chrony"],
  ["corosync", "corosync"],
  ["cron", "cron"],
  ["ksmtuned", "ksmtuned"],
  ["postfix", "postfix"],
  ["proxmox-firewall", "proxmox-firewall"],
  ["pve-cluster", "pve-cluster"],
  ["pve-firewall", "pve-firewall"],
  ["pve-ha-crm", "pve-ha-crm"],
  ["pve-ha-lrm", "pve-ha-lrm"],
  ["pvedaemon", "pvedaemon"],
  ["pvefw-logger", "pvefw-logger"],
  ["pveproxy", "pveproxy"],
  ["pvescheduler", "pvescheduler"],
  ["pvestatd", "pvestatd"],
  ["qmeventd", "qmeventd"],
  ["spiceproxy", "spiceproxy"],
  ["sshd", "ssh"],
  ["syslog", "syslog"],
  ["systemd-journald", "systemd-journald"],
  ["systemd-timesyncd", "systemd-timesyncd"]
]

const storeEntry = (lab: LabState, id: string): Record<string, unknown> => {
  const s = lab.stores.get(id)!
  const u = lab.storeUsage(id)
  return {
    storage: s.id,
    type: s.type,
    content: [...s.content].sort().join(","),
    active: s.active,
    enabled: s.enabled,
    shared: s.shared,
    total: u.total,
    used: u.used,
    avail: u.avail,
    used_fraction: u.total > 0 ? u.used / u.total : 0
  }
}

const nodeHandlers: Record<string, Handler> = {
  "GET /version": (ctx) => Effect.succeed({ ...versionOf(ctx.lab) }),
  "GET /nodes": (ctx) =>
    Effect.sync(() => {
      const lab = ctx.lab
      const fp = lab.apiCertificate?.sha256Colon ?? ""
      if (!ctx.can(`/nodes/${lab.nodeName}`, ["Sys.Audit"])) {
        return [{ id: `node/${lab.nodeName}`, node: lab.nodeName, type: "node", status: "online", level: "", ssl_fingerprint: fp }]
      }
      const st = lab.nodeStatus()
      return [
        {
          node: lab.nodeName,
          status: "online",
          ...nodeMetrics(lab, st),
          level: "",
          ssl_fingerprint: fp,
          id: `node/${lab.nodeName}`,
          type: "node"
        }
      ]
    }),
  "GET /nodes/{node}/status": (ctx) =>
    Effect.sync(() => {
      const lab = ctx.lab
      const n = lab.node
      const st = lab.nodeStatus()
      return {
        uptime: st.uptime,
        idle: 0,
        cpu: st.cpu,
        wait: st.wait,
        loadavg: st.loadavg,
        kversion: `Linux ${n.kernel} ${n.kernelVersion}`,
        "current-kernel": { sysname: "Linux", release: n.kernel, version: n.kernelVersion, machine: "x86_64" },
        "boot-info": { mode: "efi", secureboot: n.secureboot },
        cpuinfo: { model: n.cpuModel, sockets: n.sockets, cores: n.cores, cpus: n.threads, mhz: n.mhz, flags: n.cpuFlags, hvm: "1", user_hz: 100 },
        memory: { total: n.memTotal, used: st.memUsed, free: n.memTotal - st.memUsed, available: n.memTotal - st.memUsed + Math.floor(n.memTotal * 0.05) },
        swap: { total: n.swapTotal, used: st.swapUsed, free: n.swapTotal - st.swapUsed },
        ksm: { shared: 0 },
        rootfs: { total: n.rootfsTotal, used: st.rootfsUsed, free: n.rootfsTotal - st.rootfsUsed, avail: n.rootfsTotal - st.rootfsUsed - Math.floor(n.rootfsTotal * 0.05) },
        pveversion: `pve-manager/${versionOf(lab).version}/${versionOf(lab).repoid}`
      }
    }),
  "GET /nodes/{node}/disks/zfs": (ctx) =>
    Effect.sync(() => ctx.lab.zfsPools.map((p) => ({ name: p.name, size: p.size, alloc: p.alloc, free: p.size - p.alloc, frag: p.frag, dedup: p.dedup, health: p.health }))),
  "GET /nodes/{node}/network": (ctx) =>
    Effect.sync(() => {
      const type = ctx.params["type"]
      return ctx.lab.network
        .filter((i) => {
          if (type === undefined) return true
          if (type === "any_bridge" || type === "any_local_bridge") return i.type === "bridge" || i.type === "OVSBridge"
          return i.type === type
        })
        .map((i) => {
          const out: Record<string, unknown> = {}
          for (const [k, v] of Object.entries(i)) if (v !== undefined) out[k] = v
          return out
        })
    }),
  "GET /nodes/{node}/services": (ctx) =>
    Effect.sync(() =>
      SERVICES.map(([service, unitName]) => {
        const u = ctx.lab.hostUnits.get(unitName)
        return {
          service,
          name: service,
          desc: u?.description ?? `${service} service`,
          state: u?.subState ?? "dead",
          "active-state": u?.activeState ?? "inactive",
          "unit-state": u?.unitFileState ?? "not-found"
        }
      })
    ),
  "GET /nodes/{node}/syslog": (ctx) =>
    Effect.sync(() => {
      const lab = ctx.lab
      const toEpoch = (s: unknown) => (typeof s === "string" ? Date.parse(`${s.replace(" ", "T")}${s.length <= 10 ? "T00:00:00" : ""}Z`) / 1000 : undefined)
      const since = toEpoch(ctx.params["since"])
      const until = toEpoch(ctx.params["until"])
      const service = ctx.params["service"]
      const entries = (lab.journals.get("host") ?? []).filter(
        (e) =>
          (since === undefined || e.time >= since) &&
          (until === undefined || e.time <= until) &&
          (typeof service !== "string" || e.ident === service || e.unit === `${service}.service` || e.unit === service)
      )
      const start = typeof ctx.params["start"] === "number" ? ctx.params["start"] : 0
      const limit = typeof ctx.params["limit"] === "number" ? ctx.params["limit"] : 50
      const lines = entries.slice(start, start + limit).map((e, i) => ({ n: start + i + 1, t: journalShort(lab.nodeName, e) }))
      return new WithTotal(lines, entries.length)
    }),
  "GET /nodes/{node}/journal": (ctx) =>
    Effect.sync(() => {
      const lab = ctx.lab
      const entries = lab.journals.get("host") ?? []
      const last = typeof ctx.params["lastentries"] === "number" ? ctx.params["lastentries"] : entries.length
      const shown = entries.slice(Math.max(0, entries.length - last))
      const cursor = (i: number) => `s=${lab.rng("journal-cursor").hex(32)};i=${i.toString(16)}`
      return [cursor(entries.length - shown.length), ...shown.map((e) => journalShort(lab.nodeName, e)), cursor(entries.length)]
    }),
  "GET /cluster/status": (ctx) =>
    Effect.succeed([{ type: "node", id: `node/${ctx.lab.nodeName}`, name: ctx.lab.nodeName, ip: ctx.lab.node.ip, local: 1, nodeid: 0, online: 1, level: "" }]),
  "GET /cluster/resources": (ctx) =>
    Effect.sync(() => {
      const lab = ctx.lab
      const type = ctx.params["type"]
      const out: Array<Record<string, unknown>> = []
      if (type === undefined || type === "vm") {
        for (const g of visibleGuests(ctx)) {
          const m = lab.guestMetrics(g)
          const e: Record<string, unknown> = {
            id: `${g.type}/${g.vmid}`,
            type: g.type,
            vmid: g.vmid,
            node: lab.nodeName,
            name: lab.guestName(g),
            status: g.status,
            cpu: m.cpu,
            maxcpu: m.cpus,
            mem: m.mem,
            maxmem: m.maxmem,
            disk: m.disk,
            maxdisk: m.maxdisk,
            diskread: m.diskread,
            diskwrite: m.diskwrite,
            netin: m.netin,
            netout: m.netout,
            uptime: m.uptime,
            template: g.config["template"] === "1" ? 1 : 0
          }
          if (g.config["tags"] !== undefined) e["tags"] = g.config["tags"]
          if (g.config["lock"] !== undefined) e["lock"] = g.config["lock"]
          out.push(e)
        }
      }
      if ((type === undefined || type === "node") && ctx.can(`/nodes/${lab.nodeName}`, ["Sys.Audit"])) {
        const st = lab.nodeStatus()
        out.push({
          id: `node/${lab.nodeName}`,
          type: "node",
          node: lab.nodeName,
          status: "online",
          ...nodeMetrics(lab, st),
          level: "",
          "cgroup-mode": 2
        })
      }
      if (type === undefined || type === "storage") {
        for (const s of lab.stores.values()) {
          if (!ctx.can(`/storage/${s.id}`, ["Datastore.Audit", "Datastore.AllocateSpace"], true)) continue
          const u = lab.storeUsage(s.id)
          out.push({
            id: `storage/${lab.nodeName}/${s.id}`,
            type: "storage",
            storage: s.id,
            node: lab.nodeName,
            plugintype: s.type,
            status: s.active === 1 ? "available" : "unknown",
            shared: s.shared,
            content: [...s.content].sort().join(","),
            disk: u.used,
            maxdisk: u.total
          })
        }
      }
      return out
    }),
  "GET /nodes/{node}/storage": (ctx) =>
    Effect.sync(() => {
      const lab = ctx.lab
      const content = ctx.params["content"]
      const only = ctx.params["storage"]
      return [...lab.stores.values()]
        .filter((s) => ctx.can(`/storage/${s.id}`, ["Datastore.Audit", "Datastore.AllocateSpace"], true))
        .filter((s) => typeof only !== "string" || s.id === only)
        .filter((s) => ctx.params["enabled"] !== 1 || s.enabled === 1)
        .filter((s) => typeof content !== "string" || content.split(",").some((c) => s.content.includes(c)))
        .sort((a, b) => a.id.localeCompare(b.id))
        .map((s) => storeEntry(lab, s.id))
    }),
  "GET /nodes/{node}/storage/{storage}/status": (ctx) => {
    const id = String(ctx.params["storage"])
    if (!ctx.lab.stores.has(id)) return fail500(`storage '${id}' does not exist`)
    const { storage: _s, used_fraction: _f, ...rest } = storeEntry(ctx.lab, id)
    return Effect.succeed(rest)
  },
  "GET /nodes/{node}/storage/{storage}/content": (ctx) => {
    const id = String(ctx.params["storage"])
    const s = ctx.lab.stores.get(id)
    if (!s) return fail500(`storage '${id}' does not exist`)
    const content = ctx.params["content"]
    const vmid = ctx.params["vmid"]
    return Effect.succeed(
      s.volumes
        .filter((v) => typeof content !== "string" || v.content === content)
        .filter((v) => typeof vmid !== "number" || v.vmid === vmid)
        .filter((v) => v.vmid === undefined || ctx.can(`/vms/${v.vmid}`, ["VM.Audit"]) || ctx.can(`/storage/${id}`, ["Datastore.Allocate"]))
        .map((v) => ({
          volid: v.volid,
          format: v.format,
          size: v.size,
          ctime: v.ctime,
          ...(v.vmid !== undefined ? { vmid: v.vmid } : {}),
          ...(v.notes !== undefined ? { notes: v.notes } : {}),
          ...(v.protected === 1 ? { protected: 1 } : {}),
          content: v.content,
          ...(v.content === "backup" && v.backupOf ? { subtype: v.backupOf.type } : {})
        }))
    )
  },
  "POST /nodes/{node}/vzdump": (ctx) => {
    const lab = ctx.lab
    const all = ctx.params["all"] === 1
    const excluded = new Set(typeof ctx.params["exclude"] === "string" ? ctx.params["exclude"].split(/[,;\s]+/).map(Number) : [])
    const vmids = all
      ? lab.listGuests().map((g) => g.vmid).filter((id) => !excluded.has(id))
      : typeof ctx.params["vmid"] === "string"
        ? ctx.params["vmid"].split(/[,;\s]+/).filter((x) => x.length > 0).map(Number)
        : []
    if (vmids.length === 0 && !all) {
      return Effect.fail(new ApiFailure({ status: 400, message: "Parameter verification failed.\n", errors: { vmid: "property is missing and it is not optional" } }))
    }
    const storage = typeof ctx.params["storage"] === "string" ? ctx.params["storage"] : "local"
    // checked in the handler, as PVE does: VM.Backup per guest, Datastore.AllocateSpace on the store
    for (const vmid of vmids) if (!ctx.can(`/vms/${vmid}`, ["VM.Backup"])) return fail403(`/vms/${vmid}`, "VM.Backup")
    if (!ctx.can(`/storage/${storage}`, ["Datastore.AllocateSpace"])) return fail403(`/storage/${storage}`, "Datastore.AllocateSpace")
    const mode = ctx.params["mode"]
    return taskResult(
      lab.backupGuests(vmids, storage, principalOf(ctx), {
        ...(mode === "snapshot" || mode === "suspend" || mode === "stop" ? { mode } : {}),
        ...(typeof ctx.params["notes-template"] === "string" ? { notes: ctx.params["notes-template"] } : {}),
        protected: ctx.params["protected"] === 1
      })
    )
  }
}

// -------------------------------------------------------------------------------------------------
// Tasks, apt, access
// -------------------------------------------------------------------------------------------------

const fullUser = (t: Task): string => (t.tokenid !== undefined ? `${t.user}!${t.tokenid}` : t.user)

const taskOwnedOrAudit = (ctx: HandlerContext, t: Task, priv: "Sys.Audit" | "Sys.Modify"): Effect.Effect<void, ApiFailure> => {
  if (ctx.caller.isRoot || fullUser(t) === ctx.caller.authid) return Effect.void
  const path = `/nodes/${ctx.lab.nodeName}`
  return ctx.can(path, [priv]) ? Effect.void : fail403(path, priv)
}

const findTask = (ctx: HandlerContext): Effect.Effect<Task, ApiFailure> => {
  const upid = String(ctx.params["upid"])
  if (!/^UPID:[^:]+:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:[^:]*:[^:]*:[^:]+:$/.test(upid)) return fail500(`unable to parse worker upid '${upid}'`)
  const t = ctx.lab.getTask(upid)
  if (!t) return fail500(`no such task`)
  return Effect.succeed(t)
}

const taskHandlers: Record<string, Handler> = {
  "GET /nodes/{node}/tasks": (ctx) =>
    Effect.sync(() => {
      const p = ctx.params
      const auditor = ctx.can(`/nodes/${ctx.lab.nodeName}`, ["Sys.Audit"])
      const source = typeof p["source"] === "string" ? p["source"] : "archive"
      const statusFilter = typeof p["statusfilter"] === "string" ? p["statusfilter"].split(/[,;\s]+/).filter((x) => x.length > 0) : undefined
      const all = ctx.lab.listTasks().filter((t) => {
        if (!auditor && fullUser(t) !== ctx.caller.authid) return false
        if (source === "archive" && t.status === "running") return false
        if (source === "active" && t.status !== "running") return false
        if (typeof p["vmid"] === "number" && t.id !== String(p["vmid"])) return false
        if (typeof p["typefilter"] === "string" && t.type !== p["typefilter"]) return false
        if (typeof p["userfilter"] === "string" && !fullUser(t).toLowerCase().includes(p["userfilter"].toLowerCase())) return false
        if (typeof p["since"] === "number" && t.starttime < p["since"]) return false
        if (typeof p["until"] === "number" && t.starttime > p["until"]) return false
        const kind = t.status === "running" ? "unknown" : t.exitstatus === "OK" ? "ok" : t.exitstatus?.startsWith("WARNINGS") ? "warning" : "error"
        if (p["errors"] === 1 && kind !== "error") return false
        if (statusFilter && !statusFilter.includes(kind)) return false
        return true
      })
      const start = typeof p["start"] === "number" ? p["start"] : 0
      const limit = typeof p["limit"] === "number" ? p["limit"] : 50
      const page = all.slice(start, start + limit).map((t) => ({
        upid: t.upid,
        node: t.node,
        pid: t.pid,
        pstart: t.pstart,
        starttime: t.starttime,
        ...(t.endtime !== undefined ? { endtime: t.endtime } : {}),
        type: t.type,
        id: t.id,
        user: t.user,
        ...(t.tokenid !== undefined ? { tokenid: t.tokenid } : {}),
        status: t.status === "running" ? "RUNNING" : (t.exitstatus ?? "unknown")
      }))
      return new WithTotal(page, all.length)
    }),
  "GET /nodes/{node}/tasks/{upid}/status": (ctx) =>
    Effect.gen(function* () {
      const t = yield* findTask(ctx)
      yield* taskOwnedOrAudit(ctx, t, "Sys.Audit")
      return {
        upid: t.upid,
        node: t.node,
        pid: t.pid,
        pstart: t.pstart,
        starttime: t.starttime,
        type: t.type,
        id: t.id,
        user: t.user,
        ...(t.tokenid !== undefined ? { tokenid: t.tokenid } : {}),
        status: t.status,
        ...(t.status === "stopped" && t.exitstatus !== undefined ? { exitstatus: t.exitstatus } : {})
      }
    }),
  "GET /nodes/{node}/tasks/{upid}/log": (ctx) =>
    Effect.gen(function* () {
      const t = yield* findTask(ctx)
      yield* taskOwnedOrAudit(ctx, t, "Sys.Audit")
      const start = typeof ctx.params["start"] === "number" ? ctx.params["start"] : 0
      const limit = typeof ctx.params["limit"] === "number" ? ctx.params["limit"] : 50
      const lines = t.log.length === 0 ? [""] : t.log
      const page = lines.slice(start, start + limit).map((line, i) => ({ n: start + i + 1, t: line }))
      return new WithTotal(page, lines.length)
    }),
  "DELETE /nodes/{node}/tasks/{upid}": (ctx) =>
    Effect.gen(function* () {
      const t = yield* findTask(ctx)
      yield* taskOwnedOrAudit(ctx, t, "Sys.Modify")
      ctx.lab.stopTask(t.upid)
      return null
    }),
  "GET /nodes/{node}/apt/update": (ctx) => Effect.sync(() => ctx.lab.aptUpdates.map((u) => ({ ...u }))),
  "POST /nodes/{node}/apt/update": (ctx) =>
    Effect.sync(
      () =>
        ctx.lab.createTask({
          type: "aptupdate",
          id: "",
          by: principalOf(ctx),
          duration: 6,
          log: ["starting apt-get update", "Hit:1 http://deb.debian.org/debian trixie InRelease", "Hit:2 http://download.proxmox.com/debian/pve trixie InRelease", "Reading package lists..."],
          run: () => {
            ctx.lab.aptListsUpdated = ctx.lab.nowInt()
            return { _tag: "ok" }
          }
        }).upid
    ),
  "GET /nodes/{node}/apt/versions": (ctx) => Effect.sync(() => ctx.lab.packages.map((p) => ({ ...p }))),
  "GET /access/permissions": (ctx) =>
    Effect.gen(function* () {
      const lab = ctx.lab
      const target = typeof ctx.params["userid"] === "string" ? ctx.params["userid"] : ctx.caller.authid
      const own = target === ctx.caller.authid || target.startsWith(`${ctx.caller.userid}!`) || (ctx.caller.tokenid === undefined && target === ctx.caller.userid)
      if (!own && !ctx.can("/access", ["Sys.Audit"])) return yield* fail403("/access", "Sys.Audit")
      const paths =
        typeof ctx.params["path"] === "string"
          ? [ctx.params["path"]]
          : [...new Set(["/", "/access", "/access/groups", "/nodes", "/pool", "/sdn", "/storage", "/vms", ...lab.acl.map((e) => e.path)])].sort()
      const out: Record<string, Record<string, 0 | 1>> = {}
      for (const p of paths) {
        const perms = lab.permissions(target, p)
        if (perms.size === 0 && typeof ctx.params["path"] !== "string") continue
        out[p] = Object.fromEntries([...perms.entries()].sort(([a], [b]) => a.localeCompare(b)))
      }
      return out
    }),
  "GET /access/roles": (ctx) =>
    Effect.sync(() =>
      [...ctx.lab.roles.values()].sort((a, b) => a.roleid.localeCompare(b.roleid)).map((r) => ({ roleid: r.roleid, privs: r.privs.join(","), special: r.special }))
    )
}

// -------------------------------------------------------------------------------------------------
// QEMU guest agent
// -------------------------------------------------------------------------------------------------

const agentReady = (ctx: HandlerContext): Effect.Effect<Guest, ApiFailure> =>
  Effect.flatMap(guestOf(ctx, "qemu"), (g) => {
    const agent = g.config["agent"]
    if (agent === undefined || agent === "0" || /(^|,)enabled=0/.test(agent)) return fail500("No QEMU guest agent configured")
    if (g.status !== "running") return fail500(`VM ${g.vmid} is not running`)
    const down = ctx.lab.faults.match({ kind: "agent", vmid: g.vmid }).some((h) => h.effect._tag === "agentDown")
    if (!g.agent.running || down) return fail500("QEMU guest agent is not running")
    return Effect.succeed(g)
  })

const OS_INFO: Record<string, Record<string, string>> = {
  "debian-12": { id: "debian", name: "Debian GNU/Linux", "pretty-name": "Debian GNU/Linux 12 (bookworm)", version: "12 (bookworm)", "version-id": "12", "kernel-release": "6.1.0-28-amd64", "kernel-version": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)", machine: "x86_64" },
  "debian-13": { id: "debian", name: "Debian GNU/Linux", "pretty-name": "Debian GNU/Linux 13 (trixie)", version: "13 (trixie)", "version-id": "13", "kernel-release": "6.12.48+deb13-amd64", "kernel-version": "#1 SMP PREEMPT_DYNAMIC Debian 6.12.48-1 (2025-09-20)", machine: "x86_64" },
  "ubuntu-24.04": { id: "ubuntu", name: "Ubuntu", "pretty-name": "Ubuntu 24.04.1 LTS", version: "24.04.1 LTS (Noble Numbat)", "version-id": "24.04", "kernel-release": "6.8.0-49-generic", "kernel-version": "#49-Ubuntu SMP PREEMPT_DYNAMIC Mon Nov  4 02:06:24 UTC 2024", machine: "x86_64" },
  "alpine-3.20": { id: "alpine", name: "Alpine Linux", "pretty-name": "Alpine Linux v3.20", version: "3.20.3", "version-id": "3.20.3", "kernel-release": "6.6.58-0-virt", "kernel-version": "#1-Alpine SMP PREEMPT_DYNAMIC 2024-10-24 07:31:36", machine: "x86_64" }
}

const QGA_COMMANDS = [
  "guest-ping", "guest-info", "guest-exec", "guest-exec-status", "guest-file-open", "guest-file-read", "guest-file-write", "guest-file-close",
  "guest-fsfreeze-freeze", "guest-fsfreeze-thaw", "guest-fsfreeze-status", "guest-fstrim", "guest-get-fsinfo", "guest-get-host-name",
  "guest-get-osinfo", "guest-network-get-interfaces", "guest-shutdown", "guest-suspend-ram", "guest-get-time", "guest-get-users"
]

const shellQuote = (s: string): string => (/^[A-Za-z0-9_\-./=:@%+,]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

const machineOf = (ctx: HandlerContext, g: Guest) => {
  const m = ctx.lab.machines?.get(g.vmid)
  return m ? Effect.succeed(m) : fail500("Agent error: guest filesystem not available")
}

const agentHandlers: Record<string, Handler> = {
  "POST /nodes/{node}/qemu/{vmid}/agent/ping": (ctx) => Effect.map(agentReady(ctx), () => ({ result: {} })),
  "GET /nodes/{node}/qemu/{vmid}/agent/info": (ctx) =>
    Effect.map(agentReady(ctx), () => ({
      result: { version: "7.2.11", supported_commands: QGA_COMMANDS.map((name) => ({ name, enabled: true, "success-response": name !== "guest-shutdown" })) }
    })),
  "GET /nodes/{node}/qemu/{vmid}/agent/get-osinfo": (ctx) => Effect.map(agentReady(ctx), (g) => ({ result: OS_INFO[g.os] ?? OS_INFO["debian-12"]! })),
  "GET /nodes/{node}/qemu/{vmid}/agent/get-host-name": (ctx) => Effect.map(agentReady(ctx), (g) => ({ result: { "host-name": ctx.lab.guestName(g) } })),
  "GET /nodes/{node}/qemu/{vmid}/agent/get-fsinfo": (ctx) =>
    Effect.map(agentReady(ctx), (g) => {
      const m = ctx.lab.guestMetrics(g)
      const used = Math.floor(m.maxdisk * g.metrics.memShare * 0.8)
      return {
        result: [
          { name: "sda1", mountpoint: "/", type: "ext4", "total-bytes": m.maxdisk - 1024 ** 3, "used-bytes": used, disk: [{ "pci-controller": { domain: 0, bus: 1, slot: 1, function: 0 }, "bus-type": "scsi", bus: 0, target: 0, unit: 0, serial: `0QEMU_QEMU_HARDDISK_drive-scsi0`, dev: "/dev/sda1" }] }
        ]
      }
    }),
  "GET /nodes/{node}/qemu/{vmid}/agent/network-get-interfaces": (ctx) =>
    Effect.map(agentReady(ctx), (g) => {
      const m = ctx.lab.guestMetrics(g)
      return {
        result: [
          { name: "lo", "hardware-address": "00:00:00:00:00:00", "ip-addresses": [{ "ip-address": "127.0.0.1", "ip-address-type": "ipv4", prefix: 8 }, { "ip-address": "::1", "ip-address-type": "ipv6", prefix: 128 }], statistics: { "rx-bytes": 4200, "rx-packets": 60, "rx-errs": 0, "rx-dropped": 0, "tx-bytes": 4200, "tx-packets": 60, "tx-errs": 0, "tx-dropped": 0 } },
          { name: "ens18", "hardware-address": g.hwaddr.toLowerCase(), "ip-addresses": [{ "ip-address": g.ip, "ip-address-type": "ipv4", prefix: 24 }], statistics: { "rx-bytes": m.netin, "rx-packets": Math.floor(m.netin / 900), "rx-errs": 0, "rx-dropped": 0, "tx-bytes": m.netout, "tx-packets": Math.floor(m.netout / 700), "tx-errs": 0, "tx-dropped": 0 } }
        ]
      }
    }),
  "POST /nodes/{node}/qemu/{vmid}/agent/exec": (ctx) =>
    Effect.gen(function* () {
      const g = yield* agentReady(ctx)
      const machine = yield* machineOf(ctx, g)
      const argv = (ctx.params["command"] as ReadonlyArray<string>) ?? []
      if (argv.length === 0) return yield* fail500("Agent error: Guest agent command failed, error was 'Failed to execute child process “” (No such file or directory)'")
      const pid = ctx.lab.nextPid() % 100000
      const key = `${g.vmid}:${pid}`
      ctx.lab.agentExecs.set(key, { exited: false })
      const input = typeof ctx.params["input-data"] === "string" ? ctx.params["input-data"] : undefined
      machine
        .exec(argv.map(shellQuote).join(" "), input !== undefined ? { stdin: input } : {})
        .then(
          (r) => ctx.lab.agentExecs.set(key, { exited: true, exitcode: r.exitCode, stdout: r.stdout, stderr: r.stderr }),
          (e: unknown) => ctx.lab.agentExecs.set(key, { exited: true, exitcode: 127, stdout: "", stderr: String(e) })
        )
      return { pid }
    }),
  "GET /nodes/{node}/qemu/{vmid}/agent/exec-status": (ctx) =>
    Effect.gen(function* () {
      const g = yield* agentReady(ctx)
      const r = ctx.lab.agentExecs.get(`${g.vmid}:${ctx.params["pid"]}`)
      if (!r) return yield* fail500(`Agent error: Invalid parameter 'pid'`)
      if (!r.exited) return { exited: 0 }
      const cap = 16 * 1024 * 1024
      const out: Record<string, unknown> = { exited: 1, exitcode: r.exitcode ?? 0 }
      if (r.stdout !== undefined && r.stdout.length > 0) {
        out["out-data"] = r.stdout.slice(0, cap)
        if (r.stdout.length > cap) out["out-truncated"] = 1
      }
      if (r.stderr !== undefined && r.stderr.length > 0) {
        out["err-data"] = r.stderr.slice(0, cap)
        if (r.stderr.length > cap) out["err-truncated"] = 1
      }
      return out
    }),
  "GET /nodes/{node}/qemu/{vmid}/agent/file-read": (ctx) =>
    Effect.gen(function* () {
      const g = yield* agentReady(ctx)
      const machine = yield* machineOf(ctx, g)
      const file = String(ctx.params["file"])
      const bytes = yield* Effect.tryPromise({
        try: () => machine.fs.readFile(file),
        catch: () => new ApiFailure({ status: 500, message: `Agent error: failed to open file '${file}' (mode: 'r'): No such file or directory\n` })
      })
      const offset = typeof ctx.params["offset"] === "number" ? ctx.params["offset"] : 0
      const count = typeof ctx.params["count"] === "number" ? ctx.params["count"] : 16 * 1024 * 1024
      const chunk = bytes.subarray(offset, offset + count)
      const buf = Buffer.from(chunk)
      const out: Record<string, unknown> = {
        content: ctx.params["decode"] === 0 ? buf.toString("base64") : buf.toString("utf8"),
        "bytes-read": chunk.length
      }
      if (offset + chunk.length < bytes.length) out["truncated"] = 1
      return out
    }),
  "POST /nodes/{node}/qemu/{vmid}/agent/file-write": (ctx) =>
    Effect.gen(function* () {
      const g = yield* agentReady(ctx)
      const machine = yield* machineOf(ctx, g)
      const file = String(ctx.params["file"])
      const content = String(ctx.params["content"])
      const data = ctx.params["encode"] === 0 ? Buffer.from(content, "base64") : Buffer.from(content, "utf8")
      yield* Effect.tryPromise({
        try: () => machine.fs.writeFile(file, new Uint8Array(data)),
        catch: () => new ApiFailure({ status: 500, message: `Agent error: failed to open file '${file}' (mode: 'w'): No such file or directory\n` })
      })
      return null
    })
}

/** Every handler, keyed by `METHOD /template/path`. */
export const HANDLERS: Readonly<Record<string, Handler>> = {
  ...nodeHandlers,
  ...guestHandlers("lxc"),
  ...guestHandlers("qemu"),
  ...taskHandlers,
  ...agentHandlers
}
