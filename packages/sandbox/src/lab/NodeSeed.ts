/**
 * Seeds the node-level parts of a lab (sandbox.md §8): hardware, stores, host units, apt state,
 * ZFS pools, network, identities (product user, tier tokens, test principals) and guest factories.
 */
import * as Either from "effect/Either"
import type { LabState } from "../state/LabState.js"
import type { DockerContainerSpec, Guest, GuestOs, GuestType, Store, Unit } from "../state/types.js"

const GiB = 1024 ** 3
const TiB = 1024 ** 4

/** Fills node hardware, stores, units, apt, zfs and network of a fresh lab. */
export const seedNode = (lab: LabState): void => {
  const r = lab.rng("node")
  const bootTime = lab.epochBase - (3 * 86400 + 4 * 3600 + 5 * 60) - r.int(0, 3600)
  lab.node = {
    name: lab.nodeName,
    ip: "192.168.1.10",
    cidr: "192.168.1.10/24",
    gateway: "192.168.1.1",
    cpuModel: "AMD Ryzen 7 5700G with Radeon Graphics",
    sockets: 1,
    cores: 8,
    threads: 16,
    mhz: "3800.000",
    memTotal: 64 * GiB - 512 * 1024 * 1024,
    swapTotal: 8 * GiB,
    rootfsTotal: 98 * GiB,
    kernel: "6.17.2-1-pve",
    kernelVersion: "#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)",
    bootTime,
    secureboot: 0,
    cpuFlags:
      "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid extd_apicid aperfmperf rapl pni pclmulqdq monitor ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw ibs skinit wdt tce topoext perfctr_core perfctr_nb bpext perfctr_llc mwaitx cpb cat_l3 cdp_l3 hw_pstate ssbd mba ibrs ibpb stibp vmmcall fsgsbase bmi1 avx2 smep bmi2 erms invpcid cqm rdt_a rdseed adx smap clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local clzero irperf xsaveerptr rdpru wbnoinvd cppc arat npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid decodeassists pausefilter pfthreshold avic v_vmsave_vmload vgif v_spec_ctrl umip pku ospke vaes vpclmulqdq rdpid overflow_recov succor smca fsrm debug_swap",
    loadBase: 0.25 + r.next() * 0.3,
    memBase: 6 * GiB + r.int(0, 1024) * 1024 * 1024,
    rootfsUsed: 11 * GiB + r.int(0, 4096) * 1024 * 1024
  }

  const store = (s: Omit<Store, "volumes" | "full" | "active" | "enabled"> & Partial<Pick<Store, "active" | "enabled">>): void =>
    lab.addStore({ active: 1, enabled: 1, ...s, volumes: [], full: false })
  store({ id: "local", type: "dir", content: ["import", "iso", "vztmpl"], shared: 0, total: 98 * GiB, baseUsed: 11 * GiB, props: { path: "/var/lib/vz" } })
  store({ id: "local-lvm", type: "lvmthin", content: ["images", "rootdir"], shared: 0, total: 832 * GiB, baseUsed: 0, props: { thinpool: "data", vgname: "pve" } })
  store({ id: "tank", type: "zfspool", content: ["images", "rootdir"], shared: 0, total: Math.floor(3.5 * TiB), baseUsed: Math.floor(1.1 * TiB), props: { pool: "tank", sparse: "1" } })
  store({ id: "backups", type: "dir", content: ["backup"], shared: 0, total: Math.floor(1.8 * TiB), baseUsed: 220 * GiB, props: { path: "/mnt/backups", "prune-backups": "keep-daily=7,keep-weekly=4" } })
  const local = lab.stores.get("local")!
  local.volumes.push(
    { volid: "local:iso/debian-12.8.0-amd64-netinst.iso", format: "iso", size: 661651456, ctime: lab.epochBase - 86400 * 60, content: "iso" },
    { volid: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", format: "tzst", size: 126000000, ctime: lab.epochBase - 86400 * 90, content: "vztmpl" },
    { volid: "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz", format: "txz", size: 3100000, ctime: lab.epochBase - 86400 * 80, content: "vztmpl" }
  )

  const unit = (name: string, description: string, u: Partial<Unit> = {}): void => {
    lab.hostUnits.set(name, {
      name,
      description,
      activeState: "active",
      subState: "running",
      unitFileState: "enabled",
      mainPid: 1000 + r.int(0, 3000),
      activeEnterTimestamp: bootTime + r.int(5, 40),
      ...u
    })
  }
  unit("pveproxy", "PVE API Proxy Server")
  unit("pvedaemon", "PVE API Daemon")
  unit("pvestatd", "PVE Status Daemon")
  unit("pve-cluster", "The Proxmox VE cluster filesystem")
  unit("pve-firewall", "Proxmox VE firewall")
  unit("pvescheduler", "Proxmox VE scheduler")
  unit("pve-ha-crm", "PVE Cluster HA Resource Manager Daemon")
  unit("pve-ha-lrm", "PVE Local HA Resource Manager Daemon")
  unit("pvefw-logger", "Proxmox VE firewall logger")
  unit("qmeventd", "PVE Qemu Event Daemon")
  unit("spiceproxy", "PVE SPICE Proxy Server")
  unit("lxcfs", "FUSE filesystem for LXC")
  unit("ksmtuned", "Kernel Samepage Merging (KSM) Tuning Daemon")
  unit("ssh", "OpenBSD Secure Shell server", { unitFileState: "enabled" })
  unit("cron", "Regular background program processing daemon")
  unit("chrony", "chrony, an NTP client/server")
  unit("postfix", "Postfix Mail Transport Agent")
  unit("rrdcached", "LSB: start or stop rrdcached")
  unit("syslog", "System Logging Service", { activeState: "inactive", subState: "dead", unitFileState: "not-found", mainPid: 0 })
  unit("systemd-journald", "Journal Service", { unitFileState: "static" })
  unit("corosync", "Corosync Cluster Engine", { activeState: "inactive", subState: "dead", mainPid: 0 })
  unit("systemd-timesyncd", "Network Time Synchronization", { activeState: "inactive", subState: "dead", unitFileState: "not-found", mainPid: 0 })
  unit("proxmox-firewall", "Proxmox nftables firewall", { activeState: "inactive", subState: "dead", unitFileState: "disabled", mainPid: 0 })
  unit("zfs-zed", "ZFS Event Daemon (zed)")
  unit("smartmontools", "Self Monitoring and Reporting Technology (SMART) Daemon")

  const pkg = (Package: string, Version: string, Section = "admin", extra: Record<string, string> = {}) => ({
    Package,
    Version,
    Title: `${Package} package`,
    Description: `The ${Package} package.`,
    Origin: "Proxmox",
    Arch: "amd64",
    Section,
    Priority: "optional",
    CurrentState: "Installed" as const,
    ...extra
  })
  lab.packages = [
    pkg("proxmox-ve", "9.1.0", "admin", { RunningKernel: lab.node.kernel, ManagerVersion: "9.1.1" }),
    pkg("pve-manager", "9.1.1"),
    pkg("proxmox-kernel-helper", "9.0.4"),
    pkg("proxmox-kernel-6.17.2-1-pve-signed", "6.17.2-1", "kernel"),
    pkg("ceph-fuse", "19.2.3-pve2"),
    pkg("corosync", "3.1.9-pve2"),
    pkg("libpve-access-control", "9.0.4", "perl"),
    pkg("libpve-common-perl", "9.0.13", "perl"),
    pkg("libpve-guest-common-perl", "6.0.2", "perl"),
    pkg("libpve-storage-perl", "9.0.17", "perl"),
    pkg("lxc-pve", "6.0.5-3"),
    pkg("lxcfs", "6.0.4-pve1"),
    pkg("proxmox-backup-client", "4.0.20-1"),
    pkg("pve-cluster", "9.0.7"),
    pkg("pve-container", "6.0.18"),
    pkg("pve-firewall", "6.0.4"),
    pkg("pve-qemu-kvm", "10.1.2-4"),
    pkg("qemu-server", "9.1.1"),
    pkg("zfsutils-linux", "2.3.4-pve1")
  ]
  const upd = (Package: string, OldVersion: string, Version: string, Origin = "Proxmox", Section = "admin", Priority = "optional") => ({
    Package,
    Title: `${Package} update`,
    Description: `Updated ${Package}.`,
    Version,
    OldVersion,
    Origin,
    Arch: "amd64",
    Section,
    Priority
  })
  lab.aptUpdates = [
    upd("pve-manager", "9.1.1", "9.1.2"),
    upd("pve-qemu-kvm", "10.1.2-4", "10.1.2-5"),
    upd("libpve-storage-perl", "9.0.17", "9.0.18", "Proxmox", "perl"),
    upd("openssl", "3.5.1-1", "3.5.1-1+deb13u1", "Debian", "utils", "important"),
    upd("libssl3t64", "3.5.1-1", "3.5.1-1+deb13u1", "Debian", "libs", "important"),
    upd("tzdata", "2025b-4", "2025b-4+deb13u1", "Debian", "localization", "required")
  ]
  lab.aptListsUpdated = lab.epochBase - 3600 * 5

  const boot = (offset: number, ident: string, message: string, priority = 6) =>
    lab.appendJournal("host", { time: bootTime + offset, ident, pid: ident === "kernel" ? 0 : 900 + r.int(0, 400), priority, message })
  boot(0, "kernel", `Linux version ${lab.node.kernel} (build@proxmox) #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1`)
  boot(2, "systemd", "Starting pve-cluster.service - The Proxmox VE cluster filesystem...")
  boot(4, "pmxcfs", "[main] notice: resolved node name 'pve' to '192.168.1.10' for default node IP address")
  boot(6, "systemd", "Started pve-cluster.service - The Proxmox VE cluster filesystem.")
  boot(9, "pvedaemon", "starting server")
  boot(11, "pveproxy", "starting server")
  boot(14, "pvestatd", "status update time (5.012 seconds)", 5)
  boot(20, "zed", "eid=1 class=config_sync pool='tank'")
  boot(30, "chronyd", "Selected source 162.159.200.1 (2.debian.pool.ntp.org)")
  lab.zfsPools = [{ name: "tank", size: 4 * TiB - 7 * GiB, alloc: Math.floor(1.2 * TiB), frag: 7, dedup: 1, health: "ONLINE" }]
  lab.network = [
    { iface: "eno1", type: "eth", method: "manual", active: 1, exists: 1, priority: 3, families: ["inet"] },
    {
      iface: "vmbr0",
      type: "bridge",
      method: "static",
      method6: "manual",
      active: 1,
      autostart: 1,
      cidr: "192.168.1.10/24",
      address: "192.168.1.10",
      netmask: "24",
      gateway: "192.168.1.1",
      bridge_ports: "eno1",
      bridge_vlan_aware: 1,
      bridge_vids: "2-4094",
      priority: 4,
      families: ["inet"]
    }
  ]
}

/** Identities as setup leaves them (all three tier tokens) plus the test principals of §8. */
export const seedIdentities = (lab: LabState, options: { unprovisioned?: boolean } = {}): void => {
  if (options.unprovisioned === true) return
  lab.provision(["observe", "operate", "companion"])
  Either.getOrThrow(lab.addUser("test@pve", { comment: "sandbox test principals" }))
  Either.getOrThrow(lab.addToken("test@pve", "bare", { privsep: 1 }))
  Either.getOrThrow(lab.addToken("test@pve", "expired", { privsep: 1, expire: lab.epochBase - 86400 }))
  Either.getOrThrow(lab.modifyAcl("/", { users: ["test@pve"] }, ["PVEAuditor"], 1))
  Either.getOrThrow(lab.modifyAcl("/", { tokens: ["test@pve!expired"] }, ["PVEAuditor"], 1))
  Either.getOrThrow(lab.addUser("old@pve", { enable: 0, comment: "disabled user" }))
  Either.getOrThrow(lab.addToken("old@pve", "legacy", { privsep: 0 }))
}

/** Input of `makeGuest`. */
export interface GuestSpec {
  readonly vmid: number
  readonly type: GuestType
  readonly name: string
  readonly os: GuestOs
  readonly role: string
  readonly running: boolean
  readonly cores?: number
  readonly memoryMiB?: number
  readonly diskGiB?: number
  readonly rootStore?: string
  readonly onboot?: boolean
  readonly tags?: ReadonlyArray<string>
  readonly agent?: boolean | "extended"
  readonly extraConfig?: Readonly<Record<string, string>>
  readonly rawLxc?: ReadonlyArray<[string, string]>
  readonly docker?: ReadonlyArray<DockerContainerSpec>
  readonly ignoresShutdown?: boolean
  readonly description?: string
}

const ostype = (os: GuestOs, type: GuestType): string =>
  type === "qemu" ? "l26" : os.startsWith("alpine") ? "alpine" : os.startsWith("ubuntu") ? "ubuntu" : "debian"

/** Builds a guest with a realistic PVE config (keys per §3.1) and seeded metrics. */
export const makeGuest = (lab: LabState, spec: GuestSpec): Guest => {
  const r = lab.rng("guest", spec.vmid)
  const mac = `BC:24:11:${r.hex(2)}:${r.hex(2)}:${r.hex(2)}`.toUpperCase()
  const ip = `192.168.1.${20 + (spec.vmid % 200)}`
  const cores = spec.cores ?? (spec.type === "qemu" ? 2 : 1)
  const memory = spec.memoryMiB ?? (spec.type === "qemu" ? 4096 : 1024)
  const disk = spec.diskGiB ?? (spec.type === "qemu" ? 32 : 8)
  const rootStore = spec.rootStore ?? "local-lvm"
  const config: Record<string, string> = {}
  if (spec.description !== undefined) config["description"] = spec.description
  if (spec.type === "lxc") {
    config["arch"] = "amd64"
    config["cores"] = String(cores)
    if (spec.extraConfig?.["features"] === undefined) config["features"] = "nesting=1"
    config["hostname"] = spec.name
    config["memory"] = String(memory)
    config["net0"] = `name=eth0,bridge=vmbr0,firewall=1,gw=192.168.1.1,hwaddr=${mac},ip=${ip}/24,type=veth`
    if (spec.onboot === true) config["onboot"] = "1"
    config["ostype"] = ostype(spec.os, spec.type)
    config["rootfs"] = rootStore === "local" ? `local:${spec.vmid}/vm-${spec.vmid}-disk-0.raw,size=${disk}G` : `${rootStore}:vm-${spec.vmid}-disk-0,size=${disk}G`
    config["swap"] = "512"
    if (spec.tags && spec.tags.length > 0) config["tags"] = spec.tags.join(";")
    config["unprivileged"] = "1"
  } else {
    config["agent"] = spec.agent === "extended" ? "enabled=1,fstrim_cloned_disks=1" : spec.agent === true ? "1" : "0"
    if (spec.agent === false || spec.agent === undefined) delete config["agent"]
    config["boot"] = "order=scsi0;ide2;net0"
    config["cores"] = String(cores)
    config["cpu"] = "x86-64-v2-AES"
    config["ide2"] = "none,media=cdrom"
    config["memory"] = String(memory)
    config["meta"] = `creation-qemu=10.1.2,ctime=${lab.epochBase - 86400 * r.int(20, 400)}`
    config["name"] = spec.name
    config["net0"] = `virtio=${mac},bridge=vmbr0,firewall=1`
    config["numa"] = "0"
    if (spec.onboot === true) config["onboot"] = "1"
    config["ostype"] = "l26"
    config["scsi0"] = rootStore === "local" ? `local:${spec.vmid}/vm-${spec.vmid}-disk-0.raw,iothread=1,size=${disk}G` : `${rootStore}:vm-${spec.vmid}-disk-0,iothread=1,size=${disk}G`
    config["scsihw"] = "virtio-scsi-single"
    config["smbios1"] = `uuid=${r.uuid()}`
    config["sockets"] = "1"
    if (spec.tags && spec.tags.length > 0) config["tags"] = spec.tags.join(";")
    config["vmgenid"] = r.uuid()
  }
  for (const [k, v] of Object.entries(spec.extraConfig ?? {})) config[k] = v
  const guest: Guest = {
    vmid: spec.vmid,
    type: spec.type,
    config,
    rawLxc: (spec.rawLxc ?? []).map(([k, v]) => [k, v] as [string, string]),
    status: "stopped",
    qmpstatus: "stopped",
    snapshots: new Map(),
    snapshotOrderSeed: 0,
    agent: { running: false },
    ignoresShutdown: spec.ignoresShutdown ?? false,
    os: spec.os,
    role: spec.role,
    docker: [...(spec.docker ?? [])],
    metrics: {
      cpuBase: 0.005 + r.next() * 0.06,
      memShare: 0.15 + r.next() * 0.5,
      diskUsed: Math.floor(disk * GiB * (0.15 + r.next() * 0.5)),
      phase: r.next() * Math.PI * 2,
      netRate: 2000 + r.int(0, 60000),
      ioRate: 1000 + r.int(0, 40000)
    },
    ip,
    hwaddr: mac
  }
  if (spec.running) {
    guest.status = "running"
    guest.qmpstatus = "running"
    guest.pid = lab.nextPid()
    guest.startedAt = lab.node.bootTime + 30 + r.int(0, 600)
    if (spec.type === "qemu" && spec.agent !== undefined && spec.agent !== false) guest.agent.running = true
  }
  const volStore = lab.stores.get(rootStore)
  if (volStore) {
    volStore.volumes.push({
      volid: rootStore === "local" ? `local:${spec.vmid}/vm-${spec.vmid}-disk-0.raw` : `${rootStore}:vm-${spec.vmid}-disk-0`,
      format: rootStore === "local" ? "raw" : "raw",
      size: disk * GiB,
      ctime: lab.epochBase - 86400 * r.int(20, 400),
      vmid: spec.vmid,
      content: spec.type === "lxc" ? "rootdir" : "images"
    })
  }
  if (spec.type === "lxc") {
    lab.hostUnits.set(`pve-container@${spec.vmid}`, {
      name: `pve-container@${spec.vmid}`,
      description: `PVE LXC Container: ${spec.vmid}`,
      activeState: spec.running ? "active" : "inactive",
      subState: spec.running ? "running" : "dead",
      unitFileState: "static",
      mainPid: guest.pid ?? 0,
      activeEnterTimestamp: guest.startedAt ?? 0
    })
  }
  lab.addGuest(guest)
  return guest
}

/** Adds a committed snapshot to a guest (lab seeding; the tree is kept consistent). */
export const seedSnapshot = (lab: LabState, g: Guest, name: string, options: { description?: string; ageDays: number; vmstate?: 0 | 1 }): void => {
  const { lock: _l, parent: _p, ...frozen } = g.config
  const parent = g.config["parent"]
  g.snapshots.set(name, {
    name,
    description: options.description ?? "",
    snaptime: lab.epochBase - Math.floor(options.ageDays * 86400),
    ...(parent !== undefined ? { parent } : {}),
    ...(g.type === "qemu" ? { vmstate: options.vmstate ?? 0 } : {}),
    config: frozen,
    rawLxc: g.rawLxc.map(([k, v]) => [k, v] as [string, string])
  })
  g.config["parent"] = name
}
