/**
 * The seam between the shared state (H1) and the just-bash machines (H2). LabState holds one
 * `MachineRegistry`; H2's machines module implements it and installs it with
 * `lab.setMachines(registry)`. API handlers (guest agent file-read/file-write/exec) and task
 * effects (snapshot/rollback file copies) reach machines only through this interface.
 */
import type { MachineId } from "./types.js"

/** File metadata as the agent endpoints need it. */
export interface MachineStat {
  readonly isFile: boolean
  readonly isDirectory: boolean
  readonly isSymbolicLink: boolean
  readonly size: number
  readonly mode: number
  /** Epoch milliseconds. */
  readonly mtimeMs: number
}

/** A machine's filesystem (async, like just-bash's IFileSystem). Missing paths reject with an error whose `code` is `ENOENT`. */
export interface MachineFs {
  readonly readFile: (path: string) => Promise<Uint8Array>
  readonly writeFile: (path: string, data: Uint8Array) => Promise<void>
  readonly stat: (path: string) => Promise<MachineStat>
  readonly exists: (path: string) => Promise<boolean>
}

/** Result of running a command line on a machine. */
export interface MachineExecResult {
  readonly stdout: string
  readonly stderr: string
  readonly exitCode: number
}

/** One simulated machine: its files and its shell. */
export interface Machine {
  readonly fs: MachineFs
  /** Runs a shell command line (bash syntax; Alpine machines: sh). Never rejects for command failures. */
  readonly exec: (
    command: string,
    options?: { readonly stdin?: string; readonly env?: Readonly<Record<string, string>>; readonly cwd?: string }
  ) => Promise<MachineExecResult>
}

/** Registry of machines keyed by `"host"` or vmid, built lazily by H2's machines module. */
export interface MachineRegistry {
  /** The machine, creating it lazily; undefined for an unknown vmid. */
  readonly get: (id: MachineId) => Machine | undefined
  /** Called when a snapshot task commits: keep a copy-on-write copy of the guest's files. */
  readonly onSnapshot?: (vmid: number, snapname: string) => void | Promise<void>
  /** Called when a rollback task commits: restore the guest's files from the snapshot copy. */
  readonly onRollback?: (vmid: number, snapname: string) => void | Promise<void>
  /** Called when a snapshot is deleted: drop the copy. */
  readonly onDeleteSnapshot?: (vmid: number, snapname: string) => void | Promise<void>
  /** Called when a guest is removed or restored from backup: drop/rebuild its machine. */
  readonly onGuestReset?: (vmid: number) => void | Promise<void>
}
