/**
 * Plain data types of the sandbox's shared state model (sandbox.md §3). Everything here is
 * serialisable data; behaviour lives in `LabState`.
 */

/** Guest kind as Proxmox names it in paths and `/cluster/resources` ids. */
export type GuestType = "lxc" | "qemu"

/** A machine address: the node's host or a guest by vmid. */
export type MachineId = "host" | number

/** Operating-system template of a guest (drives H2's seeded filesystem content). */
export type GuestOs = "debian-12" | "debian-13" | "ubuntu-24.04" | "alpine-3.20"

/** Who performs an operation: an API principal or `root@pam` from the CLI. */
export interface Principal {
  /** `user@realm` */
  readonly userid: string
  /** Token name without the user part (`mcp-operate`), when authenticated by token. */
  readonly tokenid?: string
}

/** `root@pam`, the principal of every CLI-started task. */
export const ROOT: Principal = { userid: "root@pam" }

/** A docker container living inside a docker-host guest (seeded; H2's machines render it). */
export interface DockerContainerSpec {
  readonly name: string
  readonly image: string
  readonly project: string
  readonly service: string
  readonly state: "running" | "exited" | "restarting" | "paused" | "created"
  readonly health?: "healthy" | "unhealthy" | "starting"
  readonly ports: ReadonlyArray<string>
  readonly networkMode?: string
  readonly profile: "full" | "alpine" | "distroless"
  readonly env: Readonly<Record<string, string>>
  readonly mounts: ReadonlyArray<{
    readonly type: "bind" | "volume" | "tmpfs"
    readonly source: string
    readonly destination: string
    readonly nfs?: boolean
  }>
  /** Virtual epoch seconds the container was started. */
  readonly startedAt: number
}

/** Snapshot of a guest (§3.2). `config` is the frozen configuration at snapshot time. */
export interface Snapshot {
  name: string
  description: string
  snaptime: number
  parent?: string
  /** QEMU only: RAM state saved (0/1). */
  vmstate?: 0 | 1
  /** Only while a task works on it. */
  snapstate?: "prepare" | "delete"
  config: Record<string, string>
  rawLxc: Array<[string, string]>
}

/** Guest agent state (QEMU). */
export interface AgentState {
  /** Agent process answering inside the VM. */
  running: boolean
}

/** Per-guest seeded metric parameters: smooth series evaluated at the virtual time. */
export interface GuestMetrics {
  cpuBase: number
  memShare: number
  diskUsed: number
  phase: number
  netRate: number
  ioRate: number
}

/** A guest: config as Proxmox stores it (string values, insertion-ordered), runtime status, snapshots. */
export interface Guest {
  readonly vmid: number
  readonly type: GuestType
  /** Config keys and values as in `/etc/pve/{lxc,qemu-server}/<vmid>.conf` (strings). */
  config: Record<string, string>
  /** LXC raw `lxc.*` lines. */
  rawLxc: Array<[string, string]>
  status: "running" | "stopped"
  qmpstatus: "running" | "stopped" | "paused"
  pid?: number
  /** Virtual epoch seconds of the last start. */
  startedAt?: number
  snapshots: Map<string, Snapshot>
  /** Order in which `GET …/snapshot` lists them (seeded shuffle, stable). */
  snapshotOrderSeed: number
  agent: AgentState
  /** The guest ignores ACPI shutdown requests (shutdown without forceStop fails after timeout). */
  ignoresShutdown: boolean
  os: GuestOs
  /** Role template, e.g. `dns`, `docker`, `web`, `generic`, `scratch`. */
  role: string
  /** Containers when the guest is a docker host. */
  docker: Array<DockerContainerSpec>
  metrics: GuestMetrics
  /** Guest's IPv4 on vmbr0. */
  ip: string
  hwaddr: string
}

/** A volume on a store. */
export interface Volume {
  volid: string
  format: string
  size: number
  ctime: number
  vmid?: number
  notes?: string
  protected?: 0 | 1
  content: "images" | "rootdir" | "iso" | "vztmpl" | "backup" | "import" | "snippets"
  /** Backups keep the guest config they were taken from. */
  backupOf?: { type: GuestType; config: Record<string, string> }
}

/** A storage definition and its usage (§3.3). */
export interface Store {
  readonly id: string
  readonly type: "dir" | "lvmthin" | "zfspool" | "nfs" | "pbs"
  content: Array<string>
  shared: 0 | 1
  enabled: 0 | 1
  active: 0 | 1
  total: number
  /** Bytes used by things that are not volumes (OS, other data). */
  baseUsed: number
  volumes: Array<Volume>
  /** Extra store properties rendered into storage.cfg (path, vgname, thinpool, pool, server, export). */
  props: Record<string, string>
  /** `storageFull` override: allocations fail, used = total. */
  full: boolean
}

/** A user of a realm. */
export interface User {
  readonly userid: string
  enable: 0 | 1
  expire: number
  firstname: string
  lastname: string
  email: string
  comment: string
  groups: Array<string>
}

/** An API token (`user@realm!tokenid`). */
export interface Token {
  readonly userid: string
  readonly tokenid: string
  privsep: 0 | 1
  expire: number
  comment: string
  /** UUID secret. */
  secret: string
}

/** A role with its privilege set. */
export interface Role {
  readonly roleid: string
  privs: Array<string>
  special: 0 | 1
}

/** One ACL entry. `ugid` is `user@realm`, a group name, or `user@realm!tokenid`. */
export interface AclEntry {
  path: string
  type: "user" | "group" | "token"
  ugid: string
  roleid: string
  propagate: 0 | 1
}

/** A pool with its members (vmids and storage ids). */
export interface Pool {
  readonly poolid: string
  vms: Array<number>
  storage: Array<string>
}

/** Outcome of a finished task. */
export type TaskOutcome =
  | { readonly _tag: "ok" }
  | { readonly _tag: "warnings"; readonly count: number }
  | { readonly _tag: "error"; readonly message: string }

/** A task (UPID, §3.3). Times are virtual epoch seconds (integers). */
export interface Task {
  readonly upid: string
  readonly node: string
  readonly pid: number
  readonly pstart: number
  readonly starttime: number
  readonly type: string
  readonly id: string
  /** `user@realm` (the token part is in `tokenid`). */
  readonly user: string
  readonly tokenid?: string
  /** Virtual seconds the task runs. */
  readonly duration: number
  status: "running" | "stopped"
  endtime?: number
  /** `OK`, `WARNINGS: n`, or the error message (set when stopped). */
  exitstatus?: string
  log: Array<string>
}

/** A journal line (host or guest). `time` is virtual epoch seconds. */
export interface JournalEntry {
  readonly time: number
  readonly ident: string
  readonly pid?: number
  readonly unit?: string
  /** syslog priority 0..7 */
  readonly priority: number
  readonly message: string
}

/** A systemd unit on a machine. */
export interface Unit {
  readonly name: string
  description: string
  activeState: "active" | "inactive" | "failed" | "activating"
  subState: string
  unitFileState: "enabled" | "disabled" | "static" | "not-found" | "masked"
  mainPid: number
  activeEnterTimestamp: number
}

/** A pending apt update (GET /nodes/{node}/apt/update). */
export interface AptUpdate {
  readonly Package: string
  readonly Title: string
  readonly Description: string
  readonly Version: string
  readonly OldVersion: string
  readonly Origin: string
  readonly Arch: string
  readonly Section: string
  readonly Priority: string
}

/** An installed package version (GET /nodes/{node}/apt/versions). */
export interface PackageVersion {
  readonly Package: string
  readonly Version: string
  readonly OldVersion?: string
  readonly Title: string
  readonly Description: string
  readonly Origin: string
  readonly Arch: string
  readonly Section: string
  readonly Priority: string
  readonly CurrentState: "Installed" | "NotInstalled" | "ConfigFiles"
  readonly RunningKernel?: string
  readonly ManagerVersion?: string
}

/** A ZFS pool. */
export interface ZfsPool {
  readonly name: string
  size: number
  alloc: number
  frag: number
  dedup: number
  health: "ONLINE" | "DEGRADED" | "FAULTED" | "OFFLINE" | "UNAVAIL" | "REMOVED"
}

/** A network interface of the node (from /etc/network/interfaces plus physical NICs). */
export interface NetIface {
  readonly iface: string
  readonly type: "eth" | "bridge" | "bond" | "vlan" | "OVSBridge"
  method: "manual" | "static" | "dhcp"
  method6?: string
  active?: 1
  autostart?: 1
  exists?: 1
  cidr?: string
  address?: string
  netmask?: string
  gateway?: string
  bridge_ports?: string
  bridge_vlan_aware?: 1
  bridge_vids?: string
  comments?: string
  priority: number
  families: Array<string>
}

/** Node hardware and identity. */
export interface NodeInfo {
  readonly name: string
  readonly ip: string
  readonly cidr: string
  readonly gateway: string
  readonly cpuModel: string
  readonly sockets: number
  readonly cores: number
  readonly threads: number
  readonly mhz: string
  readonly memTotal: number
  readonly swapTotal: number
  readonly rootfsTotal: number
  readonly kernel: string
  readonly kernelVersion: string
  /** Virtual epoch seconds of boot. */
  readonly bootTime: number
  readonly secureboot: 0 | 1
  readonly cpuFlags: string
  /** seeded base load */
  readonly loadBase: number
  readonly memBase: number
  readonly rootfsUsed: number
}

/** One recorded event (every API call, SSH command, task and state change). */
export interface SandboxEvent {
  readonly seq: number
  /** Virtual epoch seconds. */
  readonly at: number
  readonly kind: "api" | "ssh" | "task" | "state" | "fault"
  readonly method?: string
  readonly path?: string
  readonly argv?: ReadonlyArray<string>
  /** `user@realm[!token]` */
  readonly principal?: string
  readonly status?: number
  /** allow / deny / fault id / task result */
  readonly decision?: string
  /**
   * Real milliseconds spent (incl. injected latency). A GET under a latency fault alone is handled and
   * logged on arrival (`at`), its `latencyMs` counting the latency its answer then waits.
   */
  readonly latencyMs?: number
  readonly detail?: string
}
