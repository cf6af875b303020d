/**
 * @internal File helpers shared by the backup store and the audit log: a directory is made when an
 * operation finds it missing (not checked before every write), and a removal of a file already gone is
 * no error.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"

const isMissing = (e: unknown) => typeof e === "object" && e !== null && (e as NodeJS.ErrnoException).code === "ENOENT"

/** Runs `op` on `file`; when its directory is missing (ENOENT), makes it (0700) and runs `op` once more. */
export const inDir = async <A>(file: string, op: () => Promise<A>): Promise<A> => {
  try {
    return await op()
  } catch (e) {
    if (!isMissing(e)) throw e
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
    return await op()
  }
}

/** Removes `file`; a file already gone is no error. */
export const unlinkIfPresent = (file: string): Promise<void> =>
  fs.unlink(file).catch((e: unknown) => {
    if (!isMissing(e)) throw e
  })
