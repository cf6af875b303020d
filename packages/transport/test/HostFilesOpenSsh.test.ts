/**
 * HostFiles over SFTP against a real OpenSSH sshd (internal-sftp with posix-rename and fsync extensions).
 */
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { HostFiles } from "@homelab-mcp/core/capabilities/HostFiles"
import * as HostFilesLive from "../src/HostFiles.js"
import { type OpenSshd, startSshd } from "./OpenSshHarness.js"

let sshd: OpenSshd & { stop: () => void }
let root: string

beforeAll(async () => {
  sshd = await startSshd()
  root = fs.mkdtempSync(path.join(sshd.dir, "files-"))
}, 60_000)

afterAll(() => sshd?.stop())

const run = <A, E>(body: Effect.Effect<A, E, HostFiles>) =>
  body.pipe(Effect.provide(Layer.fresh(HostFilesLive.layer(sshd.options()))))

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")
const leftovers = (dir: string) => fs.readdirSync(dir).filter((n) => n.includes(".mcp-"))

describe("HostFiles over OpenSSH SFTP", () => {
  it.live("writes a new file atomically with the requested mode and verifies its hash", () =>
    run(
      Effect.gen(function*() {
        const hf = yield* HostFiles
        const p = path.join(root, "new.conf")
        const r = yield* hf.write(p, Buffer.from("hello\n"), { mode: 0o640 })
        expect(r).toMatchObject({ newFile: true, mode: 0o640, sha256: sha256(Buffer.from("hello\n")) })
        expect(fs.readFileSync(p, "utf8")).toBe("hello\n")
        expect(fs.statSync(p).mode & 0o777).toBe(0o640)
        expect(leftovers(root)).toStrictEqual([])
        const st = yield* hf.stat(p)
        expect(Option.getOrThrow(st)).toMatchObject({ type: "file", size: 6, mode: 0o640 })
      })
    ))

  it.live("a name with a backslash, quotes, $ and a backtick is written and verified (GNU sha256sum escapes such names)", () =>
    run(
      Effect.gen(function*() {
        const hf = yield* HostFiles
        const p = path.join(root, "it's a \\ $HOME `id` ü.conf")
        const r = yield* hf.write(p, Buffer.from("odd\n"), { mode: 0o644 })
        expect(r).toMatchObject({ newFile: true, sha256: sha256(Buffer.from("odd\n")) })
        expect(fs.readFileSync(p, "utf8")).toBe("odd\n")
        expect(leftovers(root)).toStrictEqual([])
      })
    ))

  it.live("overwriting keeps the existing mode and owner", () =>
    run(
      Effect.gen(function*() {
        const hf = yield* HostFiles
        const p = path.join(root, "owned.conf")
        fs.writeFileSync(p, "old")
        fs.chmodSync(p, 0o600)
        fs.chownSync(p, 1234, 4321)
        const inode = fs.statSync(p).ino
        const r = yield* hf.write(p, Buffer.from("new content"), { mode: 0o777 })
        expect(r).toMatchObject({ newFile: false, mode: 0o600, uid: 1234, gid: 4321 })
        const st = fs.statSync(p)
        expect(st.mode & 0o777).toBe(0o600)
        expect([st.uid, st.gid]).toStrictEqual([1234, 4321])
        expect(st.ino).not.toBe(inode)
        expect(fs.readFileSync(p, "utf8")).toBe("new content")
        expect(leftovers(root)).toStrictEqual([])
      })
    ))

  it.live("binary-safe: 0 B, 1 B and 3 MiB round trips, and exact windows", () =>
    run(
      Effect.gen(function*() {
        const hf = yield* HostFiles
        for (const size of [0, 1, 3 * 1024 * 1024 + 5]) {
          const p = path.join(root, `bin-${size}`)
          const content = new Uint8Array(randomBytes(size))
          const r = yield* hf.write(p, content)
          expect(r.sha256).toBe(sha256(content))
          expect(sha256(fs.readFileSync(p))).toBe(sha256(content))
          const back = yield* hf.read(p, { offset: 0, length: size + 10 })
          expect(sha256(back)).toBe(sha256(content))
          if (size > 1000) {
            const win = yield* hf.read(p, { offset: 777, length: 100_000 })
            expect(Buffer.from(win)).toStrictEqual(Buffer.from(content.subarray(777, 100_777)))
          }
        }
      })
    ), 60_000)

  it.live("realpath, readlink and typed refusals", () =>
    run(
      Effect.gen(function*() {
        const hf = yield* HostFiles
        const target = path.join(root, "target.txt")
        fs.writeFileSync(target, "t")
        const link = path.join(root, "link.txt")
        fs.symlinkSync(target, link)
        expect(yield* hf.realpath(link)).toBe(target)
        expect(yield* hf.readlink(link)).toBe(target)
        expect(Option.getOrThrow(yield* hf.lstat(link)).type).toBe("symlink")
        expect(Option.getOrThrow(yield* hf.stat(link)).type).toBe("file")
        expect(Option.isNone(yield* hf.stat(path.join(root, "absent")))).toBe(true)
        const missingParent = yield* Effect.flip(hf.realpath(path.join(root, "no", "such")))
        expect(missingParent._tag).toBe("FileNotFound")
        const dirRead = yield* Effect.flip(hf.read(root, { offset: 0, length: 1 }))
        expect(dirRead._tag).toBe("NotARegularFile")
        const noParent = yield* Effect.flip(hf.write(path.join(root, "nodir", "x"), Buffer.from("x")))
        expect(noParent._tag).toBe("ParentDirectoryMissing")
        fs.mkdirSync(path.join(root, "adir"))
        const overDir = yield* Effect.flip(hf.write(path.join(root, "adir"), Buffer.from("x")))
        expect(overDir._tag).toBe("NotARegularFile")
        const relative = yield* Effect.flip(hf.stat("etc/hosts"))
        expect(relative._tag).toBe("InvalidInput")
        const missingRead = yield* Effect.flip(hf.read(path.join(root, "absent"), { offset: 0, length: 1 }))
        expect(missingRead._tag).toBe("FileNotFound")
      })
    ))

  it.live("readdir lists entries by name with lstat data and link targets", () =>
    run(
      Effect.gen(function*() {
        const hf = yield* HostFiles
        const d = path.join(root, "listing")
        fs.mkdirSync(d)
        fs.writeFileSync(path.join(d, "b.txt"), "bb")
        fs.mkdirSync(path.join(d, "a-dir"))
        fs.symlinkSync("b.txt", path.join(d, "c-link"))
        fs.writeFileSync(path.join(d, ".hidden"), "")
        const entries = yield* hf.readdir(d)
        expect(entries.map((e) => [e.name, e.type])).toStrictEqual([
          [".hidden", "file"],
          ["a-dir", "directory"],
          ["b.txt", "file"],
          ["c-link", "symlink"]
        ])
        expect(entries.find((e) => e.name === "c-link")?.linkTarget).toBe("b.txt")
        expect(entries.find((e) => e.name === "b.txt")?.size).toBe(2)
        expect((yield* Effect.flip(hf.readdir(path.join(d, "b.txt"))))._tag).toBe("NotADirectory")
        expect((yield* Effect.flip(hf.readdir(path.join(d, "nope"))))._tag).toBe("FileNotFound")
      })
    ))

  it.live("unlink removes, and a missing file is not an error", () =>
    run(
      Effect.gen(function*() {
        const hf = yield* HostFiles
        const p = path.join(root, "gone.txt")
        fs.writeFileSync(p, "x")
        yield* hf.unlink(p)
        expect(fs.existsSync(p)).toBe(false)
        yield* hf.unlink(p)
      })
    ))
})
