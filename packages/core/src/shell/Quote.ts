/**
 * The single quoting function for remote shell text (transport-trust.md §3.5) and the validators for the
 * identifiers that reach the node as separate argv elements (guardrails.md §5, lessons D6). Every element of
 * every remote argv goes through `quote`; identifiers are validated first so they are never "quoted four
 * layers deep".
 */
import * as Either from "effect/Either"
import { InvalidInput, InvalidSnapshotName } from "../Errors.js"

/** Thrown by `quote` for an argument holding a NUL byte (a programmer error: validate with `checkArgv` first). */
export class NulInArgument extends Error {
  readonly _tag = "NulInArgument"
  constructor(readonly index: number) {
    super(`argument ${index} contains a NUL byte, which no shell argument can carry`)
  }
}

/** Quotes one argument for a POSIX shell: wrapped in single quotes, each `'` becomes `'\''`; NUL throws. */
export const quote = (arg: string): string => {
  if (arg.includes("\0")) throw new NulInArgument(0)
  return "'" + arg.replaceAll("'", "'\\''") + "'"
}

/** Quotes every element and joins them with single spaces; the shell re-splits it into exactly `argv`. */
export const quoteArgv = (argv: ReadonlyArray<string>): string =>
  argv
    .map((arg, index) => {
      if (arg.includes("\0")) throw new NulInArgument(index)
      return quote(arg)
    })
    .join(" ")

/** Fails with `InvalidInput` when any element holds a NUL byte or the argv is empty; otherwise returns it. */
export const checkArgv = (argv: ReadonlyArray<string>): Either.Either<ReadonlyArray<string>, InvalidInput> => {
  if (argv.length === 0) return Either.left(new InvalidInput({ reason: "The command argv is empty." }))
  const index = argv.findIndex((a) => a.includes("\0"))
  return index === -1
    ? Either.right(argv)
    : Either.left(
      new InvalidInput({ reason: `Argument ${index} contains a NUL byte, which cannot be passed to a remote command.` })
    )
}

/** Like `quoteArgv`, but a NUL byte is an `InvalidInput` instead of a throw. */
export const quoteArgvEither = (argv: ReadonlyArray<string>): Either.Either<string, InvalidInput> =>
  Either.map(checkArgv(argv), quoteArgv)

// ---------------------------------------------------------------------------------------------------
// Identifier validators
// ---------------------------------------------------------------------------------------------------

/** Guest ids accepted everywhere (tools.md §1). */
export const VMID_MIN = 100
/** The largest guest id Proxmox accepts. */
export const VMID_MAX = 999_999_999

/** Accepts an integer vmid in 100..999999999 and returns it as the decimal argv element. */
export const validateVmid = (vmid: unknown, key = "vmid"): Either.Either<string, InvalidInput> =>
  typeof vmid === "number" && Number.isSafeInteger(vmid) && vmid >= VMID_MIN && vmid <= VMID_MAX
    ? Either.right(String(vmid))
    : Either.left(
      new InvalidInput({ reason: `${key} must be an integer from ${VMID_MIN} to ${VMID_MAX}, got ${JSON.stringify(vmid)}.`, key })
    )

const UNIT = /^[A-Za-z0-9@:._\\-]{1,256}$/

/** Accepts a systemd unit name matching `^[A-Za-z0-9@:._\\-]{1,256}$` (tools.md tail_log). */
export const validateUnitName = (unit: string, key = "unit"): Either.Either<string, InvalidInput> =>
  UNIT.test(unit) && !unit.startsWith("-")
    ? Either.right(unit)
    : Either.left(
      new InvalidInput({
        reason: `${key} ${JSON.stringify(unit)} is not a unit name: use 1-256 of A-Z a-z 0-9 @ : . _ \\ - (not starting with -).`,
        key
      })
    )

const SNAPSHOT = /^mcp-[A-Za-z0-9_-]{1,36}$/

/** Accepts a server-managed snapshot name `^mcp-[A-Za-z0-9_-]{1,36}$`, else `InvalidSnapshotName` (guardrails.md §5). */
export const validateSnapshotName = (name: string): Either.Either<string, InvalidSnapshotName> =>
  SNAPSHOT.test(name) ? Either.right(name) : Either.left(new InvalidSnapshotName({ name }))

const NODE = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/

/** Accepts a Proxmox node name (a DNS label) for use in `pvesh` paths. */
export const validateNodeName = (node: string): Either.Either<string, InvalidInput> =>
  NODE.test(node)
    ? Either.right(node)
    : Either.left(new InvalidInput({ reason: `${JSON.stringify(node)} is not a valid node name (a DNS label).`, key: "node" }))

const CONTAINER = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/

/** Accepts a Docker container name `[a-zA-Z0-9][a-zA-Z0-9_.-]*` (lessons D6). */
export const validateContainerName = (name: string): Either.Either<string, InvalidInput> =>
  CONTAINER.test(name)
    ? Either.right(name)
    : Either.left(new InvalidInput({ reason: `${JSON.stringify(name)} is not a container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*).`, key: "container" }))

const OCTAL_MODE = /^0?[0-7]{3,4}$/

/** Accepts a file mode in octal digits (`644`, `0644`, `4755`) and returns it as 4 digits. */
export const validateMode = (mode: string, key = "mode"): Either.Either<string, InvalidInput> =>
  OCTAL_MODE.test(mode)
    ? Either.right(mode.length === 3 ? "0" + mode : mode.slice(-4))
    : Either.left(new InvalidInput({ reason: `${key} ${JSON.stringify(mode)} is not an octal mode like 0644.`, key }))

/** Accepts a numeric uid or gid (digits only, at most 4294967295). */
export const validateId = (id: string | number, key = "uid"): Either.Either<string, InvalidInput> => {
  const s = String(id)
  return /^[0-9]{1,10}$/.test(s) && Number(s) <= 4_294_967_295
    ? Either.right(String(Number(s)))
    : Either.left(new InvalidInput({ reason: `${key} ${JSON.stringify(id)} is not a numeric id.`, key }))
}

/** Accepts an absolute path without NUL or newline (the path rules themselves live in guardrails). */
export const validateAbsolutePath = (path: string, key = "path"): Either.Either<string, InvalidInput> =>
  path.startsWith("/") && !/[\0\n]/.test(path) && path.length <= 4096
    ? Either.right(path)
    : Either.left(new InvalidInput({ reason: `${key} must be an absolute path without NUL or newline, got ${JSON.stringify(path)}.`, key }))
