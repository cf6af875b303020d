/**
 * QEMU guest agent operations on a VM's machine (sandbox.md §4.7 agent table, §5.1 `qm guest`,
 * `pvesh … agent/file-read|file-write`): availability checks with PVE's texts, `file-read` (offset,
 * count ≤ 16 MiB, base64 unless decoded, `truncated` before EOF), `file-write` (content ≤ 61440
 * characters, truncating), `exec` + `exec-status`, and the informational commands. Shared by the CLI
 * and (through the same functions) the HTTPS API.
 */
import type { LabState } from "../state/LabState.js"
import type { Guest } from "../state/types.js"
import type { Machines } from "../machines/Machines.js"
import * as Paths from "../machines/Paths.js"

/** An agent failure with PVE's message (API 500; CLI stderr + 255). */
export class AgentError extends Error {
  constructor(
    message: string,
    readonly status = 500,
    readonly errors?: Record<string, string>
  ) {
    super(message)
  }
}

/** Max `count` of file-read (16 MiB). */
export const FILE_READ_MAX = 16 * 1024 * 1024
/** Default `count` of file-read (1 MiB). */
export const FILE_READ_DEFAULT = 1024 * 1024
/** Max characters of file-write `content`. */
export const FILE_WRITE_MAX = 61440

/** The VM if its agent can answer; throws AgentError otherwise. */
export const available = (lab: LabState, vmid: number): Guest => {
  const g = lab.getGuest(vmid)
  if (!g || g.type !== "qemu") throw new AgentError(lab.missingConfigMessage(vmid, "qemu"))
  const agent = g.config["agent"]
  const enabled = agent !== undefined && (agent === "1" || /(^|,)enabled=1(,|$)/.test(agent) || /^1,/.test(agent))
  if (!enabled) throw new AgentError("No QEMU guest agent configured")
  if (g.status !== "running") throw new AgentError(`VM ${vmid} is not running`)
  const down = lab.faults.match({ kind: "agent", vmid }).some((h) => h.effect._tag === "agentDown")
  if (!g.agent.running || down) throw new AgentError("QEMU guest agent is not running")
  return g
}

const machineOf = async (machines: Machines, vmid: number) => {
  const m = machines.guest(vmid)
  if (!m) throw new AgentError(`VM ${vmid} is not running`)
  await m.settled()
  return m
}

/** `file-read`: `{content, bytes-read, truncated?}`; `decode` false leaves content base64. */
export const fileRead = async (
  lab: LabState,
  machines: Machines,
  vmid: number,
  params: { readonly file: string; readonly offset?: number; readonly count?: number; readonly decode?: boolean }
): Promise<{ content: string; "bytes-read": number; truncated?: 1 }> => {
  const count = params.count ?? FILE_READ_DEFAULT
  if (count > FILE_READ_MAX) throw new AgentError("Parameter verification failed.", 400, { count: `value must have a maximum value of ${FILE_READ_MAX}` })
  available(lab, vmid)
  const m = await machineOf(machines, vmid)
  const path = Paths.normalize(params.file)
  let data: Uint8Array
  try {
    const st = await m.vfs.stat(path)
    // qemu-ga opens a directory fine (O_RDONLY); it is the read that fails with EISDIR
    if (st.isDirectory) throw new AgentError("Agent error: failed to read file: Is a directory")
    data = await m.vfs.readFileBuffer(path)
  } catch (e) {
    if (e instanceof AgentError) throw e
    throw new AgentError(`Agent error: failed to open file '${params.file}' (mode: 'r'): No such file or directory`)
  }
  const offset = Math.max(0, params.offset ?? 0)
  const chunk = Buffer.from(data).subarray(offset, offset + count)
  const truncated = offset + chunk.length < data.length
  return {
    content: params.decode === false ? chunk.toString("base64") : chunk.toString("utf8"),
    "bytes-read": chunk.length,
    ...(truncated ? { truncated: 1 as const } : {})
  }
}

/** `file-write`: truncating write; `encode` false means `content` is already base64. */
export const fileWrite = async (
  lab: LabState,
  machines: Machines,
  vmid: number,
  params: { readonly file: string; readonly content: string; readonly encode?: boolean }
): Promise<null> => {
  if (params.content.length > FILE_WRITE_MAX) {
    throw new AgentError("Parameter verification failed.", 400, { content: `value may only be ${FILE_WRITE_MAX} characters long` })
  }
  available(lab, vmid)
  const m = await machineOf(machines, vmid)
  const path = Paths.normalize(params.file)
  const bytes = params.encode === false ? Buffer.from(params.content, "base64") : Buffer.from(params.content, "utf8")
  // PVE opens the file with mode 'wb' (O_WRONLY|O_CREAT|O_TRUNC); qemu-ga's error names path, mode and errno
  const openFailed = (errno: string) => new AgentError(`Agent error: failed to open file '${params.file}' (mode: 'wb'): ${errno}`)
  const parent = await m.vfs.stat(Paths.dirname(path)).catch(() => undefined)
  if (!parent) throw openFailed("No such file or directory")
  if (!parent.isDirectory) throw openFailed("Not a directory")
  const existing = await m.vfs.stat(path).catch(() => undefined)
  if (existing?.isDirectory) throw openFailed("Is a directory")
  await m.vfs.writeFile(path, bytes)
  if (!existing) m.owners.remove(path)
  return null
}

interface ExecRecord {
  exited: boolean
  exitcode?: number
  out?: Buffer
  err?: Buffer
}

const execs = new WeakMap<LabState, Map<string, ExecRecord>>()

/** `exec`: starts the command, returns `{pid}` at once. */
export const exec = (
  lab: LabState,
  machines: Machines,
  vmid: number,
  params: { readonly command: ReadonlyArray<string>; readonly inputData?: string }
): { pid: number } => {
  if (params.inputData !== undefined && params.inputData.length > 65536) {
    throw new AgentError("Parameter verification failed.", 400, { "input-data": "value may only be 65536 characters long" })
  }
  available(lab, vmid)
  const m = machines.guest(vmid)
  if (!m) throw new AgentError(`VM ${vmid} is not running`)
  const pid = 1000 + lab.rng("agent-pid", `${vmid}:${lab.nowInt()}`).int(0, 30000)
  let table = execs.get(lab)
  if (!table) {
    table = new Map()
    execs.set(lab, table)
  }
  const record: ExecRecord = { exited: false }
  table.set(`${vmid}:${pid}`, record)
  const line = params.command.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ")
  void m.execBytes({ command: line, ...(params.inputData !== undefined ? { stdin: params.inputData } : {}) }).then((r) => {
    record.exited = true
    record.exitcode = r.exitCode
    record.out = Buffer.from(r.stdout)
    record.err = Buffer.from(r.stderr)
  })
  return { pid }
}

const CAP = 16 * 1024 * 1024

/** `exec-status`: `{exited, exitcode?, out-data?, err-data?, *-truncated?}` (decoded, 16 MiB cap). */
export const execStatus = (lab: LabState, vmid: number, pid: number): Record<string, unknown> => {
  available(lab, vmid)
  const record = execs.get(lab)?.get(`${vmid}:${pid}`)
  if (!record) throw new AgentError(`Agent error: Invalid parameter 'pid'`)
  if (!record.exited) return { exited: 0 }
  const out: Record<string, unknown> = { exited: 1, exitcode: record.exitcode ?? 0 }
  if (record.out && record.out.length > 0) {
    out["out-data"] = record.out.subarray(0, CAP).toString("utf8")
    if (record.out.length > CAP) out["out-truncated"] = 1
  }
  if (record.err && record.err.length > 0) {
    out["err-data"] = record.err.subarray(0, CAP).toString("utf8")
    if (record.err.length > CAP) out["err-truncated"] = 1
  }
  return out
}

/** Informational QGA commands (`ping`, `info`, `get-osinfo`, …); undefined result = empty. */
export const command = async (lab: LabState, machines: Machines, vmid: number, cmd: string): Promise<unknown> => {
  const g = available(lab, vmid)
  const m = await machineOf(machines, vmid)
  const name = g.config["name"] ?? `VM${vmid}`
  switch (cmd) {
    case "ping":
      return {}
    case "info":
      return {
        version: "7.2.19",
        supported_commands: ["guest-ping", "guest-info", "guest-exec", "guest-exec-status", "guest-file-open", "guest-file-read", "guest-file-write", "guest-file-close", "guest-get-osinfo", "guest-get-host-name", "guest-network-get-interfaces", "guest-get-fsinfo", "guest-fsfreeze-status", "guest-shutdown"].map((n) => ({ enabled: true, name: n, "success-response": n !== "guest-shutdown" }))
      }
    case "get-osinfo": {
      const osr = await m.vfs.readFile("/etc/os-release").catch(() => "")
      const field = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?$`, "m").exec(osr)?.[1] ?? ""
      return {
        id: field("ID"),
        name: field("NAME"),
        "pretty-name": field("PRETTY_NAME"),
        version: field("VERSION"),
        "version-id": field("VERSION_ID"),
        "kernel-release": "6.1.0-28-amd64",
        "kernel-version": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)",
        machine: "x86_64"
      }
    }
    case "get-host-name":
      return { "host-name": name }
    case "get-time":
      return Math.floor(lab.now() * 1e9)
    case "get-timezone":
      return { offset: 0, zone: "UTC" }
    case "get-vcpus":
      return Array.from({ length: Number(g.config["cores"] ?? "1") }, (_, i) => ({ "can-offline": i > 0, logical_id: i, online: true }))
    case "get-users":
      return []
    case "fsfreeze-status":
      return "thawed"
    case "fsfreeze-freeze":
    case "fsfreeze-thaw":
      return 1
    case "get-fsinfo":
      return [{ name: "sda1", mountpoint: "/", type: "ext4", "total-bytes": lab.maxdisk(g), "used-bytes": Math.floor(lab.maxdisk(g) * 0.3), disk: [{ "bus-type": "scsi", bus: 0, target: 0, unit: 0, dev: "/dev/sda1", serial: `0QEMU_QEMU_HARDDISK_drive-scsi0` }] }]
    case "network-get-interfaces":
      return [
        { name: "lo", "hardware-address": "00:00:00:00:00:00", "ip-addresses": [{ "ip-address": "127.0.0.1", "ip-address-type": "ipv4", prefix: 8 }, { "ip-address": "::1", "ip-address-type": "ipv6", prefix: 128 }], statistics: { "rx-bytes": 1200, "rx-packets": 16, "tx-bytes": 1200, "tx-packets": 16, "rx-errs": 0, "rx-dropped": 0, "tx-errs": 0, "tx-dropped": 0 } },
        { name: "ens18", "hardware-address": g.hwaddr.toLowerCase(), "ip-addresses": [{ "ip-address": g.ip, "ip-address-type": "ipv4", prefix: 24 }], statistics: { "rx-bytes": 104857600, "rx-packets": 80000, "tx-bytes": 20971520, "tx-packets": 40000, "rx-errs": 0, "rx-dropped": 0, "tx-errs": 0, "tx-dropped": 0 } }
      ]
    case "shutdown":
    case "suspend-disk":
    case "suspend-ram":
    case "suspend-hybrid":
      return undefined
    default:
      throw new AgentError(`Agent error: The command guest-${cmd} has not been found`)
  }
}
