/**
 * The machine registry (implements state's `MachineRegistry`): the node's host machine, one machine per
 * guest (built lazily on first use, so a 500-guest lab starts fast) and one per docker container of a
 * docker-host guest. Owns snapshot copies of guest files (copy on snapshot, restore on rollback).
 *
 * Usage (Sandbox.make, H1):
 * ```ts
 * const machines = Machines.make(lab, { hostPublicKey: ssh.hostPublicKey, apiCertPem })
 * lab.setMachines(machines)
 * machines.authorizeKey(ssh.clientPublicKey) // companion+: the product's key in authorized_keys
 * ```
 */
import { InMemoryFs, MountableFs, type CommandName, type CustomCommand, type IFileSystem } from "just-bash"
import type { LabState } from "../state/LabState.js"
import type { MachineRegistry } from "../state/MachineRegistry.js"
import type { DockerContainerSpec, Guest, MachineId, Unit } from "../state/types.js"
import * as Commands from "../commands/Commands.js"
import * as FileCommands from "../commands/FileCommands.js"
import type * as Pvesh from "../commands/Pvesh.js"
import * as SystemCommands from "../commands/SystemCommands.js"
import { Machine, type MachineKind, type SysInfo, type VirtualTime } from "./Machine.js"
import { OwnerTable } from "./Owners.js"
import * as Paths from "./Paths.js"
import * as PveView from "./PveView.js"
import * as ProcView from "./ProcView.js"
import * as Templates from "./Templates.js"

/** Options of the registry. */
export interface Options {
  /** `ssh-ed25519 AAAA… root@pve` of the served host key. */
  readonly hostPublicKey: string
  /** The certificate the API serves (PEM), shown as `/etc/pve/local/pve-ssl.pem`. */
  readonly apiCertPem?: () => string
  /** A custom certificate (shown as `pveproxy-ssl.pem` only when set). */
  readonly customCertPem?: () => string | undefined
  /**
   * Extra commands per machine (the PVE CLI on the host, journalctl/systemctl/docker in guests). The
   * registry calls this once per machine it builds.
   */
  readonly commands?: (machine: Machine, machines: Machines) => ReadonlyArray<CustomCommand>
  /** API core `pvesh` falls back to for paths it does not serve itself (H1's socket-free router). */
  readonly api?: Pvesh.ApiCore
}

/** Every just-bash built-in except bash (Alpine and BusyBox-based images have only `sh`). */
const ALPINE_BUILTINS: ReadonlyArray<CommandName> = [
  "echo", "cat", "printf", "ls", "mkdir", "rmdir", "touch", "rm", "cp", "mv", "ln", "chmod", "pwd", "readlink", "head", "tail", "wc",
  "stat", "grep", "egrep", "fgrep", "sed", "awk", "sort", "uniq", "cut", "tr", "tee", "find", "basename", "dirname", "du", "env",
  "printenv", "xargs", "true", "false", "sh", "base64", "diff", "date", "sleep", "timeout", "seq", "expr", "md5sum", "sha1sum",
  "sha256sum", "which", "hostname", "od", "gzip", "gunzip", "zcat", "tar", "whoami", "rev", "nl", "fold", "tac", "split", "paste",
  "comm", "join", "strings"
]

const DISTROLESS_BUILTINS: ReadonlyArray<CommandName> = []

/** Virtual time over a LabState (milliseconds; sleeps follow `timeScale` or the manual clock). */
export const labTime = (lab: LabState): VirtualTime => ({
  now: () => lab.now() * 1000,
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      const until = lab.now() + ms / 1000
      let timer: ReturnType<typeof setTimeout> | undefined
      const onAbort = () => {
        if (timer) clearTimeout(timer)
        reject(Object.assign(new Error("aborted"), { name: "AbortError" }))
      }
      if (signal?.aborted) return onAbort()
      signal?.addEventListener("abort", onAbort, { once: true })
      const tick = () => {
        const left = until - lab.now()
        if (left <= 0) {
          signal?.removeEventListener("abort", onAbort)
          return resolve()
        }
        timer = setTimeout(tick, lab.clockMode === "manual" ? 5 : Math.max(1, Math.ceil(lab.realMs(left))))
      }
      tick()
    })
})

const GiB = 1024 ** 3

/** Registry of the lab's machines. */
export class Machines implements MachineRegistry {
  readonly time: VirtualTime
  #host: Machine | undefined
  readonly #guests = new Map<number, Machine>()
  readonly #containers = new Map<string, Machine>()
  readonly #snapshots = new Map<string, FsCopy>()
  readonly #authorized: Array<string> = []

  constructor(
    readonly lab: LabState,
    readonly options: Options
  ) {
    this.time = labTime(lab)
    const r = lab.rng("authorized-keys")
    this.#authorized.push(`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${Buffer.from(r.hex(32), "hex").toString("base64").slice(0, 43)} admin@laptop`)
  }

  /** The machine of `"host"` or a vmid (lazily built); undefined for an unknown vmid. */
  readonly get = (id: MachineId): Machine | undefined => (id === "host" ? this.host() : this.guest(id))

  /** The node's host machine. */
  host(): Machine {
    this.#host ??= this.buildHost()
    return this.#host
  }

  /**
   * Builds the host machine and loads just-bash's lazily imported commands once, so the first real
   * command does not spend (scaled) virtual time on module loading. `Sandbox.make` should await it.
   */
  async warm(): Promise<void> {
    await this.host().warm()
  }

  /** Lines of `/etc/pve/priv/authorized_keys` (what SSH auth reads through the symlink). */
  authorizedKeys(): ReadonlyArray<string> {
    return this.#authorized
  }

  /** Appends a public key line to `authorized_keys` (setup's companion provisioning). */
  authorizeKey(line: string): void {
    if (!this.#authorized.includes(line.trim())) this.#authorized.push(line.trim())
  }

  /** Removes a public key line. */
  revokeKey(line: string): void {
    const i = this.#authorized.indexOf(line.trim())
    if (i >= 0) this.#authorized.splice(i, 1)
  }

  /** The guest's machine (built on first use). */
  guest(vmid: number): Machine | undefined {
    const existing = this.#guests.get(vmid)
    if (existing) return existing
    const g = this.lab.guests.get(vmid)
    if (!g) return undefined
    const m = this.buildGuest(g)
    this.#guests.set(vmid, m)
    return m
  }

  /** A docker container's machine inside a docker-host guest. */
  container(vmid: number, name: string): Machine | undefined {
    const key = `${vmid}/${name}`
    const existing = this.#containers.get(key)
    if (existing) return existing
    const g = this.lab.guests.get(vmid)
    const spec = g?.docker.find((c) => c.name === name)
    const guest = this.guest(vmid)
    if (!g || !spec || !guest) return undefined
    const m = this.buildContainer(g, spec, guest)
    this.#containers.set(key, m)
    return m
  }

  /** Forgets a container machine (compose up -d recreates it). */
  dropContainer(vmid: number, name: string): void {
    this.#containers.delete(`${vmid}/${name}`)
  }

  readonly onSnapshot = async (vmid: number, snapname: string): Promise<void> => {
    const m = this.guest(vmid)
    if (!m) return
    const work = copyFs(baseOf(m), m.owners).then((copy) => {
      this.#snapshots.set(`${vmid}/${snapname}`, copy)
    })
    m.hold(work)
    await work
  }

  readonly onRollback = async (vmid: number, snapname: string): Promise<void> => {
    const m = this.guest(vmid)
    const copy = this.#snapshots.get(`${vmid}/${snapname}`)
    if (!m) return
    if (!copy) {
      // Seeded snapshots predate the sandbox: their files are the template's.
      this.#guests.delete(vmid)
      for (const key of [...this.#containers.keys()]) if (key.startsWith(`${vmid}/`)) this.#containers.delete(key)
      return
    }
    const work = restoreFs(baseOf(m), m.owners, copy)
    m.hold(work)
    await work
  }

  readonly onDeleteSnapshot = (vmid: number, snapname: string): void => {
    this.#snapshots.delete(`${vmid}/${snapname}`)
  }

  readonly onGuestReset = (vmid: number): void => {
    this.#guests.delete(vmid)
    for (const key of [...this.#containers.keys()]) if (key.startsWith(`${vmid}/`)) this.#containers.delete(key)
  }

  // -----------------------------------------------------------------------------------------------

  private make(options: {
    id: string
    kind: MachineKind
    hostname: () => string
    base: InMemoryFs
    owners: OwnerTable
    mounts: ReadonlyArray<{ mountPoint: string; fs: IFileSystem }>
    sys: () => SysInfo
    builtins?: ReadonlyArray<CommandName>
    random: () => number
    pid: number
    extras?: ReadonlyArray<readonly [string, unknown]>
  }): Machine {
    const fs = new RootFs(options.base, this.time)
    for (const m of options.mounts) fs.mount(m.mountPoint, m.fs)
    return new Machine({
      id: options.id,
      kind: options.kind,
      hostname: options.hostname,
      fs,
      owners: options.owners,
      time: this.time,
      sys: options.sys,
      random: options.random,
      pid: options.pid,
      ...(options.extras ? { extras: options.extras } : {}),
      ...(options.builtins ? { builtins: options.builtins } : {}),
      commands: (machine) =>
        machine.kind === "docker-distroless"
          ? []
          : [
        ...FileCommands.commands(machine),
        ...SystemCommands.commands(machine),
        ...(this.options.commands ?? Commands.forMachine(this.lab, this.options.api ? { api: this.options.api } : {}))(machine, this)
      ]
    })
  }

  private buildHost(): Machine {
    const lab = this.lab
    const r = lab.rng("host-files")
    const tree = Templates.hostFiles({
      rng: r,
      nodeName: lab.nodeName,
      ip: lab.node.ip,
      cidr: lab.node.cidr,
      gateway: lab.node.gateway,
      hostPublicKey: this.options.hostPublicKey
    })
    const owners = new OwnerTable()
    owners.setDefault("/etc/pve", { uid: 0, gid: 33 })
    const base = seedFs(tree, owners, lab.epochBase * 1000)
    const aptLists = "/var/lib/apt/lists"
    void base.mkdir(aptLists, { recursive: true })
    const sys = () => hostSys(lab)
    const rand = lab.rng("machine-random", "host")
    return this.make({
      id: "host",
      kind: "host",
      hostname: () => lab.nodeName,
      base,
      owners,
      mounts: [
        { mountPoint: "/etc/pve", fs: PveView.make(lab, this) },
        { mountPoint: "/proc", fs: ProcView.make(sys, this.time) },
        { mountPoint: aptLists, fs: aptListsFs(lab) }
      ],
      sys,
      random: rand.next,
      pid: 1
    })
  }

  private buildGuest(g: Guest): Machine {
    const lab = this.lab
    const r = lab.rng("guest-files", g.vmid)
    const hostname = () => (g.type === "lxc" ? (g.config["hostname"] ?? `CT${g.vmid}`) : (g.config["name"] ?? `VM${g.vmid}`))
    const tree = Templates.guestFiles(g, r, hostname())
    const owners = new OwnerTable()
    const base = seedFs(tree, owners, (g.startedAt ?? lab.epochBase - 86400) * 1000 - 86400_000)
    const units = new Map<string, Unit>()
    for (const u of Templates.guestUnits(g, lab.rng("guest-units", g.vmid), g.startedAt ?? lab.epochBase)) units.set(u.name, u)
    const alpine = g.os.startsWith("alpine")
    const sys = () => guestSys(lab, g)
    const mounts: Array<{ mountPoint: string; fs: IFileSystem }> = [{ mountPoint: "/proc", fs: ProcView.make(sys, this.time) }]
    const m = this.make({
      extras: [
        ["units", units],
        ["guest", g]
      ],
      id: `${g.type}/${g.vmid}`,
      kind: alpine ? "alpine" : "debian",
      hostname,
      base,
      owners,
      mounts,
      sys,
      ...(alpine ? { builtins: ALPINE_BUILTINS } : {}),
      random: lab.rng("machine-random", g.vmid).next,
      pid: 1
    })
    return m
  }

  private buildContainer(g: Guest, spec: DockerContainerSpec, guest: Machine): Machine {
    const lab = this.lab
    const owners = new OwnerTable()
    const r = lab.rng("container-files", `${g.vmid}/${spec.name}`)
    const alpine = spec.profile === "alpine"
    const tree: Templates.SeedTree =
      spec.profile === "distroless"
        ? { "/etc/passwd": { content: "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n" }, "/etc/os-release": { content: 'PRETTY_NAME="Distroless"\nID=distroless\n' } }
        : {
            "/etc/hostname": { content: `${r.hex(12)}\n` },
            "/etc/hosts": { content: `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n172.18.0.${r.int(2, 40)}\t${r.hex(12)}\n` },
            "/etc/os-release": alpine
              ? { content: "", link: "/usr/lib/os-release" }
              : { content: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' },
            ...(alpine ? { "/usr/lib/os-release": { content: 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n' } } : {}),
            "/tmp/.keep": { content: "" }
          }
    const base = seedFs(tree, owners, spec.startedAt * 1000)
    const mounts: Array<{ mountPoint: string; fs: IFileSystem }> = []
    for (const mnt of spec.mounts) {
      if (mnt.type === "tmpfs") {
        mounts.push({ mountPoint: mnt.destination, fs: new InMemoryFs() })
        continue
      }
      const source = mnt.type === "bind" ? mnt.source : `/var/lib/docker/volumes/${mnt.source}/_data`
      if (mnt.nfs) {
        mounts.push({ mountPoint: mnt.destination, fs: new InMemoryFs({ "/README": "NFS volume (not visible from the host)\n" }) })
        continue
      }
      mounts.push({ mountPoint: mnt.destination, fs: new PrefixFs(guest.vfs, source) })
      void guest.vfs.mkdir(source, { recursive: true }).catch(() => undefined)
    }
    const sys = () => guestSys(lab, g)
    const m = this.make({
      extras: [["container", spec]],
      id: `docker/${g.vmid}/${spec.name}`,
      kind: spec.profile === "distroless" ? "docker-distroless" : alpine ? "docker-alpine" : "docker-full",
      hostname: () => spec.name,
      base,
      owners,
      mounts,
      sys,
      ...(spec.profile === "distroless" ? { builtins: DISTROLESS_BUILTINS } : alpine ? { builtins: ALPINE_BUILTINS } : {}),
      random: lab.rng("machine-random", `${g.vmid}/${spec.name}`).next,
      pid: 1
    })
    return m
  }
}

/**
 * The machine's root: a MountableFs that (1) lets just-bash write its `/bin/<cmd>` stubs into the base
 * filesystem and (2) follows symlinks across mounts (`/root/.ssh/authorized_keys` →
 * `/etc/pve/priv/authorized_keys`), which MountableFs alone does not.
 */
class RootFs extends MountableFs {
  constructor(
    readonly base: InMemoryFs,
    private readonly clock: VirtualTime
  ) {
    super({ base })
  }
  /** Stamps virtual time as the mtime of what a write touched (best effort: views may refuse). */
  private async stamp(path: string): Promise<void> {
    const now = new Date(this.clock.now())
    await super.utimes(path, now, now).catch(() => undefined)
  }
  writeFileSync(path: string, content: string | Uint8Array): void {
    this.base.writeFileSync(path, content, undefined, { mode: 0o755 })
  }
  private readonly raw = {
    lstat: (p: string) => super.lstat(p),
    readlink: (p: string) => super.readlink(p)
  }
  /** Canonical path (links resolved across mounts); the input when a component is missing. */
  private async follow(path: string, last: boolean): Promise<string> {
    const norm = Paths.normalize(path)
    if (last) return (await Paths.canonicalize(this.raw as unknown as IFileSystem, norm, { allowMissingLast: true })) ?? norm
    const dir = await Paths.canonicalize(this.raw as unknown as IFileSystem, Paths.dirname(norm), { allowMissingLast: false })
    return dir === undefined ? norm : `${dir === "/" ? "" : dir}/${Paths.basename(norm)}`
  }
  private async retry<A>(path: string, last: boolean, op: (p: string) => Promise<A>): Promise<A> {
    try {
      return await op(path)
    } catch (e) {
      const real = await this.follow(path, last)
      if (real === Paths.normalize(path)) throw e
      return op(real)
    }
  }
  override readFile(path: string, options?: Parameters<IFileSystem["readFile"]>[1]) {
    return this.retry(path, true, (p) => super.readFile(p, options))
  }
  override readFileBuffer(path: string) {
    return this.retry(path, true, (p) => super.readFileBuffer(p))
  }
  override readFileBytes(path: string) {
    return this.retry(path, true, (p) => super.readFileBytes(p))
  }
  override stat(path: string) {
    return this.retry(path, true, (p) => super.stat(p))
  }
  override lstat(path: string) {
    return this.retry(path, false, (p) => super.lstat(p))
  }
  override readdir(path: string) {
    return this.retry(path, true, (p) => super.readdir(p))
  }
  override async exists(path: string) {
    if (await super.exists(path)) return true
    const real = await this.follow(path, true)
    return real !== Paths.normalize(path) && super.exists(real)
  }
  /** Overwriting keeps the file's mode (InMemoryFs would reset it to 0644). */
  override async writeFile(path: string, content: string | Uint8Array, options?: Parameters<IFileSystem["writeFile"]>[2]) {
    const real = await this.follow(path, true)
    let mode: number | undefined
    try {
      const st = await super.stat(real)
      if (st.isFile) mode = st.mode
    } catch {
      mode = undefined
    }
    await super.writeFile(real, content, options)
    if (mode !== undefined && mode !== 0o644) await super.chmod(real, mode)
    await this.stamp(real)
  }
  override async appendFile(path: string, content: string | Uint8Array, options?: Parameters<IFileSystem["appendFile"]>[2]) {
    const real = await this.follow(path, true)
    await super.appendFile(real, content, options)
    await this.stamp(real)
  }
  override async mkdir(path: string, options?: { recursive?: boolean }) {
    await super.mkdir(path, options)
    await this.stamp(Paths.normalize(path))
  }
  /** just-bash stamps "now" from the real clock (`touch`); such stamps are moved to virtual now. */
  override async utimes(path: string, atime: Date, mtime: Date) {
    const real = Date.now()
    const fix = (d: Date) => (Math.abs(d.getTime() - real) < 2000 ? new Date(this.clock.now()) : d)
    return super.utimes(await this.follow(path, true), fix(atime), fix(mtime))
  }
  override async realpath(path: string) {
    const real = await Paths.canonicalize(this.raw as unknown as IFileSystem, Paths.normalize(path), { allowMissingLast: false })
    if (real === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, realpath '${path}'`), { code: "ENOENT" })
    return real
  }
}

/** Builds the registry. */
export const make = (lab: LabState, options: Options): Machines => new Machines(lab, options)

// -------------------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------------------

const baseOf = (m: Machine): InMemoryFs => (m.vfs as RootFs).base

/** An InMemoryFs filled from a seed tree (owners recorded, mtimes at `mtimeMs`). */
const seedFs = (tree: Templates.SeedTree, owners: OwnerTable, mtimeMs: number): InMemoryFs => {
  const mtime = new Date(mtimeMs)
  const files: Record<string, { content: string; mode: number; mtime: Date }> = {}
  const links: Array<[string, string]> = []
  for (const [path, f] of Object.entries(tree)) {
    if (f.link !== undefined) links.push([path, f.link])
    else files[path] = { content: f.content, mode: f.mode ?? 0o644, mtime }
    if (f.uid !== undefined || f.gid !== undefined) owners.set(path, { uid: f.uid ?? 0, gid: f.gid ?? 0 })
  }
  const fs = new InMemoryFs(files)
  for (const [path, target] of links) {
    const dir = Paths.dirname(path)
    void fs.mkdir(dir, { recursive: true })
    void fs.symlink(target, path)
  }
  for (const d of ["/root", "/tmp", "/var/tmp", "/home", "/run", "/srv", "/opt", "/usr/sbin", "/sbin", "/var/log", "/var/lib"]) {
    void fs.mkdir(d, { recursive: true })
  }
  void fs.chmod("/tmp", 0o1777)
  void fs.chmod("/root", 0o700)
  // InMemoryFs stamps directories with the real clock; seeded trees live on the virtual one
  for (const p of fs.getAllPaths()) void fs.lstat(p).then((st) => (st.isDirectory ? fs.utimes(p, mtime, mtime) : undefined))
  return fs
}

interface FsCopy {
  readonly entries: Array<{ path: string; kind: "file" | "dir" | "link"; data?: Uint8Array; target?: string; mode: number; mtime: Date }>
  readonly owners: ReadonlyMap<string, { uid: number; gid: number }>
}

const copyFs = async (fs: InMemoryFs, owners: OwnerTable): Promise<FsCopy> => {
  const entries: FsCopy["entries"] = []
  for (const p of fs.getAllPaths().sort()) {
    if (p === "/") continue
    const st = await fs.lstat(p)
    if (st.isSymbolicLink) entries.push({ path: p, kind: "link", target: await fs.readlink(p), mode: st.mode, mtime: st.mtime })
    else if (st.isDirectory) entries.push({ path: p, kind: "dir", mode: st.mode, mtime: st.mtime })
    else entries.push({ path: p, kind: "file", data: Buffer.from(await fs.readFileBuffer(p)), mode: st.mode, mtime: st.mtime })
  }
  return { entries, owners: owners.snapshot() }
}

const restoreFs = async (fs: InMemoryFs, owners: OwnerTable, copy: FsCopy): Promise<void> => {
  for (const name of await fs.readdir("/")) await fs.rm(`/${name}`, { recursive: true, force: true })
  for (const e of copy.entries) {
    if (e.kind === "dir") await fs.mkdir(e.path, { recursive: true })
    else if (e.kind === "link") await fs.symlink(e.target!, e.path)
    else await fs.writeFile(e.path, e.data!)
    if (e.kind !== "link") {
      await fs.chmod(e.path, e.mode)
      await fs.utimes(e.path, e.mtime, e.mtime)
    }
  }
  owners.restore(copy.owners)
}

/** `/var/lib/apt/lists` whose mtime is the last package-list refresh. */
const aptListsFs = (lab: LabState): IFileSystem => {
  const inner = new InMemoryFs()
  const when = () => new Date(lab.aptListsUpdated * 1000)
  const files = ["deb.debian.org_debian_dists_trixie_InRelease", "deb.debian.org_debian_dists_trixie_main_binary-amd64_Packages.lz4", "download.proxmox.com_debian_pve_dists_trixie_InRelease", "lock"]
  const refresh = async () => {
    const t = when()
    for (const f of files) {
      if (!(await inner.exists(`/${f}`))) await inner.writeFile(`/${f}`, f === "lock" ? "" : `(apt list ${f})\n`)
      await inner.utimes(`/${f}`, t, t)
    }
    if (!(await inner.exists("/partial"))) await inner.mkdir("/partial")
    await inner.utimes("/partial", t, t)
    await inner.utimes("/", t, t)
  }
  return new (class extends PrefixFs {
    override async prepare() {
      await refresh()
    }
  })(inner, "/")
}

/** A view of `target` below `prefix` (docker bind mounts and volumes: writes visible both ways). */
export class PrefixFs implements IFileSystem {
  constructor(
    private readonly target: IFileSystem,
    private readonly prefix: string
  ) {}
  async prepare(): Promise<void> {}
  private p(path: string) {
    const rel = Paths.normalize(path)
    return this.prefix === "/" ? rel : rel === "/" ? this.prefix : `${this.prefix}${rel}`
  }
  async readFile(path: string, o?: Parameters<IFileSystem["readFile"]>[1]) {
    await this.prepare()
    return this.target.readFile(this.p(path), o)
  }
  async readFileBuffer(path: string) {
    await this.prepare()
    return this.target.readFileBuffer(this.p(path))
  }
  async writeFile(path: string, c: string | Uint8Array, o?: Parameters<IFileSystem["writeFile"]>[2]) {
    return this.target.writeFile(this.p(path), c, o)
  }
  async appendFile(path: string, c: string | Uint8Array, o?: Parameters<IFileSystem["appendFile"]>[2]) {
    return this.target.appendFile(this.p(path), c, o)
  }
  async exists(path: string) {
    await this.prepare()
    return this.target.exists(this.p(path))
  }
  async stat(path: string) {
    await this.prepare()
    return this.target.stat(this.p(path))
  }
  async lstat(path: string) {
    await this.prepare()
    return this.target.lstat(this.p(path))
  }
  async mkdir(path: string, o?: { recursive?: boolean }) {
    return this.target.mkdir(this.p(path), o)
  }
  async readdir(path: string) {
    await this.prepare()
    return this.target.readdir(this.p(path))
  }
  async rm(path: string, o?: { recursive?: boolean; force?: boolean }) {
    return this.target.rm(this.p(path), o)
  }
  async cp(a: string, b: string, o?: { recursive?: boolean }) {
    return this.target.cp(this.p(a), this.p(b), o)
  }
  async mv(a: string, b: string) {
    return this.target.mv(this.p(a), this.p(b))
  }
  resolvePath(base: string, path: string) {
    return Paths.normalize(path, base)
  }
  getAllPaths() {
    return this.target
      .getAllPaths()
      .filter((p) => this.prefix === "/" || p === this.prefix || p.startsWith(`${this.prefix}/`))
      .map((p) => (this.prefix === "/" ? p : p.slice(this.prefix.length) || "/"))
  }
  async chmod(path: string, mode: number) {
    return this.target.chmod(this.p(path), mode)
  }
  async symlink(t: string, l: string) {
    return this.target.symlink(t, this.p(l))
  }
  async link(a: string, b: string) {
    return this.target.link(this.p(a), this.p(b))
  }
  async readlink(path: string) {
    await this.prepare()
    return this.target.readlink(this.p(path))
  }
  async realpath(path: string) {
    const real = await this.target.realpath(this.p(path))
    return this.prefix === "/" ? real : real.slice(this.prefix.length) || "/"
  }
  async utimes(path: string, a: Date, m: Date) {
    return this.target.utimes(this.p(path), a, m)
  }
}

// -------------------------------------------------------------------------------------------------
// live facts
// -------------------------------------------------------------------------------------------------

const hostSys = (lab: LabState): SysInfo => {
  const st = lab.nodeStatus()
  const node = lab.node
  const interfaces: Array<SysInfo["interfaces"][number]> = [
    { name: "lo", state: "UNKNOWN", addrs: ["127.0.0.1/8", "::1/128"] },
    { name: "eno1", state: "UP", addrs: [], mac: "a8:a1:59:3c:11:02" },
    { name: "vmbr0", state: "UP", addrs: [node.cidr, "fe80::aaa1:59ff:fe3c:1102/64"], mac: "a8:a1:59:3c:11:02" }
  ]
  let ifindex = 2
  for (const g of lab.listGuests()) {
    if (g.status !== "running") continue
    if (g.type === "lxc") interfaces.push({ name: `veth${g.vmid}i0@if${ifindex++}`, state: "UP", addrs: [], mac: "fe:4a:11:00:00:00" })
    else interfaces.push({ name: `tap${g.vmid}i0`, state: "UNKNOWN", addrs: [], mac: "fe:4a:11:00:00:01" })
  }
  const tank = lab.zfsPools.find((p) => p.name === "tank")
  return {
    memTotal: node.memTotal,
    memUsed: st.memUsed,
    swapTotal: node.swapTotal,
    swapUsed: st.swapUsed,
    cpus: node.threads,
    bootTime: node.bootTime,
    load: [Number(st.loadavg[0]), Number(st.loadavg[1]), Number(st.loadavg[2])],
    cpuModel: node.cpuModel,
    kernel: { release: node.kernel, version: node.kernelVersion },
    mounts: [
      { source: "/dev/mapper/pve-root", fstype: "ext4", target: "/", size: node.rootfsTotal, used: st.rootfsUsed, reserved: Math.floor(node.rootfsTotal * 0.05) },
      { source: "udev", fstype: "devtmpfs", target: "/dev", size: 32 * GiB, used: 0 },
      { source: "tmpfs", fstype: "tmpfs", target: "/run", size: Math.floor(node.memTotal / 10), used: 2_400_000 },
      { source: "proc", fstype: "proc", target: "/proc", size: 0, used: 0 },
      { source: "sysfs", fstype: "sysfs", target: "/sys", size: 0, used: 0 },
      { source: "tmpfs", fstype: "tmpfs", target: "/dev/shm", size: Math.floor(node.memTotal / 2), used: 45_056 },
      { source: "tmpfs", fstype: "tmpfs", target: "/run/lock", size: 5 * 1024 * 1024, used: 0 },
      { source: "cgroup2", fstype: "cgroup2", target: "/sys/fs/cgroup", size: 0, used: 0 },
      { source: "efivarfs", fstype: "efivarfs", target: "/sys/firmware/efi/efivars", size: 192 * 1024, used: 71 * 1024 },
      { source: "/dev/fuse", fstype: "fuse", target: "/etc/pve", size: 128 * 1024 * 1024, used: 36 * 1024 },
      ...(tank
        ? [
            { source: "tank", fstype: "zfs", target: "/tank", size: Math.floor(tank.size * 0.4), used: Math.floor(tank.size * 0.01) },
            { source: "tank/media", fstype: "zfs", target: "/tank/media", size: Math.floor(tank.size * 0.6), used: Math.floor(tank.alloc) }
          ]
        : [])
    ],
    interfaces,
    listening: [
      { port: 22, address: "0.0.0.0", process: "sshd", pid: 1021 },
      { port: 8006, address: "*", process: "pveproxy worker", pid: 1533 },
      { port: 3128, address: "*", process: "spiceproxy work", pid: 1541 },
      { port: 111, address: "0.0.0.0", process: "rpcbind", pid: 812 },
      { port: 85, address: "127.0.0.1", process: "pvedaemon worke", pid: 1490 },
      { port: 25, address: "127.0.0.1", process: "master", pid: 1234 }
    ]
  }
}

const guestSys = (lab: LabState, g: Guest): SysInfo => {
  const m = lab.guestMetrics(g)
  const listening: Array<SysInfo["listening"][number]> = [{ port: 22, address: "0.0.0.0", process: "sshd", pid: 201 }]
  if (g.role === "dns") listening.push({ port: 53, address: "0.0.0.0", process: "AdGuardHome", pid: 245 }, { port: 80, address: "0.0.0.0", process: "AdGuardHome", pid: 245 })
  if (g.role === "web") listening.push({ port: 80, address: "0.0.0.0", process: "nginx", pid: 312 })
  if (g.role === "docker") for (const c of g.docker) for (const p of c.ports) listening.push({ port: Number(/:(\d+)->/.exec(p)?.[1] ?? 0), address: "0.0.0.0", process: "docker-proxy", pid: 900 })
  const mounts: Array<SysInfo["mounts"][number]> = [
    { source: `/dev/mapper/pve-vm--${g.vmid}--disk--0`, fstype: "ext4", target: "/", size: m.maxdisk, used: m.disk || Math.floor(m.maxdisk * 0.3) },
    { source: "none", fstype: "tmpfs", target: "/dev", size: 492 * 1024, used: 0 },
    { source: "proc", fstype: "proc", target: "/proc", size: 0, used: 0 },
    { source: "tmpfs", fstype: "tmpfs", target: "/dev/shm", size: Math.floor(m.maxmem / 2), used: 0 },
    { source: "tmpfs", fstype: "tmpfs", target: "/run", size: Math.floor(m.maxmem / 5), used: 90_112 }
  ]
  for (const [k, v] of Object.entries(g.config)) {
    if (/^mp\d+$/.test(k)) {
      const src = v.split(",")[0] ?? ""
      const mp = /mp=([^,]+)/.exec(v)?.[1]
      if (mp) mounts.push({ source: src.startsWith("/") ? src.replace(/^\//, "") : src, fstype: src.startsWith("/") ? "zfs" : "ext4", target: mp, size: 2 * 1024 * GiB, used: 700 * GiB })
    }
  }
  return {
    memTotal: m.maxmem,
    memUsed: m.mem,
    swapTotal: m.maxswap,
    swapUsed: 0,
    cpus: m.cpus,
    bootTime: g.startedAt ?? lab.now(),
    load: [m.cpu * m.cpus, m.cpu * m.cpus * 0.9, m.cpu * m.cpus * 0.8],
    cpuModel: lab.node.cpuModel,
    kernel: g.type === "qemu" ? { release: "6.1.0-28-amd64", version: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)" } : { release: lab.node.kernel, version: lab.node.kernelVersion },
    mounts,
    interfaces: [
      { name: "lo", state: "UNKNOWN", addrs: ["127.0.0.1/8", "::1/128"] },
      { name: g.type === "lxc" ? `eth0@if${10 + (g.vmid % 50)}` : "ens18", state: "UP", addrs: [`${g.ip}/24`], mac: g.hwaddr }
    ],
    listening
  }
}
