/**
 * A simulated machine: one `just-bash` `Bash` over its own in-memory filesystem (a `MountableFs`), an
 * owner table (just-bash has no uids/gids) and the custom commands of sandbox.md §3.4/§5.1. Every
 * `exec()` gets fresh shell state over the shared files; concurrent `exec()`s are fine (one SSH channel =
 * one `exec()`). Nothing here touches the real machine: no processes, no disk, no network.
 */
import { Bash, latin1FromBytes, stdoutAsBytes, type CommandName, type CustomCommand } from "just-bash"
import type { MountableFs } from "just-bash"
import type * as Registry from "../state/MachineRegistry.js"
import * as Owners from "./Owners.js"

/** What kind of userland a machine has (decides bash/systemd/coreutils flavour). */
export type MachineKind = "host" | "debian" | "alpine" | "docker-full" | "docker-alpine" | "docker-distroless"

/** Virtual time as the machines see it (sandbox.md §3.5): all waits go through it. */
export interface VirtualTime {
  /** Virtual wall clock, epoch milliseconds. */
  readonly now: () => number
  /** Resolves after `ms` virtual milliseconds, or rejects with an `AbortError` when `signal` fires. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>
}

/** One request to run a shell command line on a machine. */
export interface ExecRequest {
  readonly command: string
  readonly stdin?: Uint8Array | string
  readonly signal?: AbortSignal
  readonly env?: Record<string, string>
  readonly cwd?: string
}

/** Result of an `exec`: raw bytes and the exit code (never defaulted). */
export interface ExecOutput {
  readonly stdout: Uint8Array
  readonly stderr: Uint8Array
  readonly exitCode: number
}

/** Mount as `df` and `/proc/mounts` show it (`size` 0: no blocks, omitted by `df`). */
export interface MountInfo {
  readonly source: string
  readonly fstype: string
  readonly target: string
  readonly size: number
  readonly used: number
  /** Reserved blocks (counted as used for `avail`). */
  readonly reserved?: number
  /** `df` cannot read it (stderr `df: <target>: <error>`, exit 1). */
  readonly error?: string
}

/** Live system facts the machine's commands render (`free`, `uptime`, `nproc`, `df`, `ip`, `ss`, `/proc`). */
export interface SysInfo {
  readonly memTotal: number
  readonly memUsed: number
  readonly swapTotal: number
  readonly swapUsed: number
  readonly cpus: number
  /** Virtual epoch seconds of boot. */
  readonly bootTime: number
  readonly load: readonly [number, number, number]
  readonly mounts: ReadonlyArray<MountInfo>
  readonly interfaces: ReadonlyArray<{ readonly name: string; readonly state: string; readonly addrs: ReadonlyArray<string>; readonly mac?: string }>
  readonly listening: ReadonlyArray<{ readonly port: number; readonly address: string; readonly process: string; readonly pid: number }>
  readonly cpuModel: string
  /** `uname -r` / `uname -v`. */
  readonly kernel: { readonly release: string; readonly version: string }
}

/** Construction options of a machine. */
export interface MachineOptions {
  /** Stable id: `host`, `lxc/101`, `qemu/200`, `docker/101/caddy`. */
  readonly id: string
  readonly kind: MachineKind
  readonly hostname: () => string
  readonly fs: MountableFs
  readonly owners: Owners.OwnerTable
  readonly time: VirtualTime
  /** Built-in just-bash commands to expose (minimal images); all when absent. */
  readonly builtins?: ReadonlyArray<CommandName>
  /** Custom commands (override same-named built-ins). */
  readonly commands: (machine: Machine) => ReadonlyArray<CustomCommand>
  readonly env?: Record<string, string>
  readonly pid?: number
  readonly sys: () => SysInfo
  /** Seeded randomness for this machine (`mktemp`, ids). */
  readonly random: () => number
  /** Initial `extras` (set before the commands are built). */
  readonly extras?: ReadonlyArray<readonly [string, unknown]>
}

/** A simulated machine; `exec` never rejects (failures are exit codes). Implements state's `Machine`. */
export class Machine implements Registry.Machine {
  readonly id: string
  readonly kind: MachineKind
  /** The just-bash filesystem (mounts included). */
  readonly vfs: MountableFs
  /** state's byte-level view of the same files. */
  readonly fs: Registry.MachineFs
  readonly owners: Owners.OwnerTable
  readonly time: VirtualTime
  readonly hostname: () => string
  readonly sys: () => SysInfo
  readonly random: () => number
  /** `gnu` (Debian: coreutils, findutils, bash) or `busybox` (Alpine, docker alpine). */
  readonly flavour: "gnu" | "busybox"
  /** Per-machine scratch the commands may use (journal, units, docker state...). */
  readonly extras = new Map<string, unknown>()
  readonly #bash: Bash
  readonly #env: Record<string, string>
  #gate: Promise<void> = Promise.resolve()

  /** Holds every exec (and `settled()` waiter) until `work` is done: snapshot copies and rollbacks. */
  hold(work: Promise<void>): void {
    const previous = this.#gate
    this.#gate = previous.then(() => work).catch(() => undefined)
  }

  /** Resolves once pending snapshot/rollback work on this machine's files is done. */
  settled(): Promise<void> {
    return this.#gate
  }

  constructor(options: MachineOptions) {
    this.id = options.id
    this.kind = options.kind
    this.vfs = options.fs
    this.fs = machineFs(options.fs)
    this.owners = options.owners
    this.time = options.time
    this.hostname = options.hostname
    this.sys = options.sys
    this.random = options.random
    this.flavour = options.kind === "alpine" || options.kind === "docker-alpine" ? "busybox" : "gnu"
    for (const [k, v] of options.extras ?? []) this.extras.set(k, v)
    this.#env = {
      HOME: "/root",
      USER: "root",
      LOGNAME: "root",
      LANG: "C.UTF-8",
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      SHELL: options.kind === "alpine" || options.kind === "docker-alpine" ? "/bin/sh" : "/bin/bash",
      ...options.env
    }
    this.#bash = new Bash({
      fs: options.fs,
      cwd: "/root",
      env: this.#env,
      customCommands: [...options.commands(this)],
      ...(options.builtins ? { commands: [...options.builtins] } : {}),
      sleep: (ms) => options.time.sleep(ms),
      processInfo: { pid: options.pid ?? 1, ppid: 1, uid: 0, gid: 0 }
    })
  }

  /**
   * Loads just-bash's lazily imported commands once, so the first real command does not spend (scaled)
   * virtual time on module loading.
   */
  async warm(): Promise<void> {
    await this.execBytes({
      command:
        "true; echo >/dev/null; cat /etc/hostname >/dev/null; grep -q . /etc/hostname; sed -n 1p /etc/hostname >/dev/null; awk 'NR==1' /etc/hostname >/dev/null; ls / >/dev/null; stat -c %s /etc/hostname >/dev/null; bash -c true; sort </dev/null; head -1 /etc/hostname >/dev/null; tr a b </dev/null; wc -l </dev/null >/dev/null; printf '' | base64 >/dev/null"
    })
  }

  /** state's `exec`: text in, text out. */
  readonly exec = async (
    command: string,
    options?: { readonly stdin?: string; readonly env?: Readonly<Record<string, string>>; readonly cwd?: string }
  ): Promise<Registry.MachineExecResult> => {
    const out = await this.execBytes({
      command,
      ...(options?.stdin !== undefined ? { stdin: options.stdin } : {}),
      ...(options?.env ? { env: { ...options.env } } : {}),
      ...(options?.cwd ? { cwd: options.cwd } : {})
    })
    return {
      stdout: Buffer.from(out.stdout).toString("utf8"),
      stderr: Buffer.from(out.stderr).toString("utf8"),
      exitCode: out.exitCode
    }
  }

  /** Runs one command line in a fresh shell (HOME=/root, USER=root, LANG=C.UTF-8 unless given). */
  async execBytes(request: ExecRequest): Promise<ExecOutput> {
    await this.#gate
    const stdin =
      request.stdin === undefined
        ? undefined
        : typeof request.stdin === "string"
          ? Buffer.from(request.stdin, "utf8").toString("latin1")
          : Buffer.from(request.stdin).toString("latin1")
    try {
      const result = await this.#bash.exec(request.command, {
        cwd: request.cwd ?? "/root",
        env: { ...this.#env, HOSTNAME: this.hostname(), ...request.env },
        rawScript: true,
        ...(stdin !== undefined ? { stdin, stdinKind: "bytes" as const } : {}),
        ...(request.signal ? { signal: request.signal } : {})
      })
      return {
        stdout: stdoutBytes(result),
        stderr: Buffer.from(result.stderr, "utf8"),
        exitCode: result.exitCode
      }
    } catch (cause) {
      return {
        stdout: new Uint8Array(),
        stderr: Buffer.from(`bash: ${cause instanceof Error ? cause.message : String(cause)}\n`, "utf8"),
        exitCode: 1
      }
    }
  }

}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

/** Any UTF-16 code unit above 0x7F (ASCII text is its own latin1 and UTF-8). */
const NON_ASCII = /[\u0080-\uffff]/

/**
 * The raw bytes of a top-level exec's stdout. just-bash returns text: valid UTF-8 output decoded, any
 * other output as its latin1 view. Text with code points above U+00FF was decoded; text with C1
 * controls (U+0080–U+009F) that is not valid UTF-8 as latin1 is the latin1 view of binary output;
 * everything else is decoded text. (A short binary blob without C1 bytes is the one ambiguous case.)
 */
export const stdoutBytes = (result: { stdout: string; stdoutKind?: "text" | "bytes"; stdoutEncoding?: "binary" }): Buffer => {
  if (result.stdoutKind === "bytes" || result.stdoutEncoding === "binary") return Buffer.from(latin1FromBytes(stdoutAsBytes(result)), "latin1")
  const s = result.stdout
  if (!NON_ASCII.test(s)) return Buffer.from(s, "latin1")
  let high = false
  let c1 = false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c > 0xff) return Buffer.from(s, "utf8")
    if (c >= 0x80) {
      high = true
      if (c < 0xa0) c1 = true
    }
  }
  if (!high) return Buffer.from(s, "latin1")
  const latin = Buffer.from(s, "latin1")
  if (c1) {
    try {
      strictUtf8.decode(latin)
    } catch {
      return latin
    }
  }
  return Buffer.from(s, "utf8")
}

const enoent = (path: string): Error => Object.assign(new Error(`ENOENT: no such file or directory, '${path}'`), { code: "ENOENT" })

/** Adapts a just-bash filesystem to state's `MachineFs` (ENOENT errors carry `code`). */
export const machineFs = (fs: MountableFs): Registry.MachineFs => ({
  readFile: async (path) => {
    try {
      return await fs.readFileBuffer(path)
    } catch {
      throw enoent(path)
    }
  },
  writeFile: (path, data) => fs.writeFile(path, data),
  stat: async (path) => {
    try {
      const st = await fs.stat(path)
      return {
        isFile: st.isFile,
        isDirectory: st.isDirectory,
        isSymbolicLink: st.isSymbolicLink,
        size: st.size,
        mode: st.mode,
        mtimeMs: st.mtime.getTime()
      }
    } catch {
      throw enoent(path)
    }
  },
  exists: (path) => fs.exists(path)
})
