/**
 * The simulated shell's output accounting under the local just-bash patch (ADR 0096): output keeps every
 * byte through the nesting the product uses (`timeout … pct exec … sh -c <script>`), and the patched byte
 * count (what the output limit is checked against) equals just-bash's own algorithm on any string.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { pathToFileURL } from "node:url"
import { buildLab } from "../src/lab/Lab.js"
import * as Machines from "../src/machines/Machines.js"
import * as HostKey from "../src/ssh/HostKey.js"

const HOST_KEY = HostKey.generate("root@pve")

const setup = () => {
  const lab = buildLab({ seed: 1, timeScale: 0.01 })
  const machines = Machines.make(lab, { hostPublicKey: HOST_KEY.publicKey })
  lab.setMachines(machines)
  return { host: machines.host(), ct: machines.guest(100)! }
}

/** The shape of the product's read-state script: nested case, if and exec around the bytes. */
const SCRIPT = `r=$1; printf '%s\\0' "$r"; case "$r" in /*) if [ -f "$r" ]; then exec cat -- "$r"; fi;; esac`
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
const nested = (path: string) => `timeout --signal=TERM --kill-after=5 120 pct exec 100 -- sh -c ${q(SCRIPT)} sh ${path}`

/** just-bash 3.4.2's own UTF-8 length loop, the reference the patch must agree with. */
const referenceUtf8Length = (t: string): number => {
  let n = 0
  for (let e = 0; e < t.length; e++) {
    const o = t.charCodeAt(e)
    if (o <= 127) n++
    else if (o <= 2047) n += 2
    else if (o >= 55296 && o <= 56319 && e + 1 < t.length) {
      const r = t.charCodeAt(e + 1)
      if (r >= 56320 && r <= 57343) {
        n += 4
        e++
      } else n += 3
    } else n += 3
  }
  return n
}

describe("output through the simulated shell's nesting (ADR 0096)", () => {
  it("1 MiB of ASCII, multi-byte UTF-8 and every byte value arrive byte for byte", async () => {
    const { host, ct } = setup()
    const ascii = Buffer.from("key = value 0123456789\n".repeat(Math.ceil((1 << 20) / 23)).slice(0, 1 << 20), "latin1")
    const utf8 = Buffer.from("é😀漢字 ünïcødé line\n".repeat(20_000), "utf8")
    const binary = Buffer.alloc(256 * 64)
    for (let i = 0; i < binary.length; i++) binary[i] = i % 256
    for (const [path, bytes] of [["/root/ascii", ascii], ["/root/utf8", utf8], ["/root/binary", binary]] as const) {
      await ct.vfs.writeFile(path, bytes)
      const out = await host.execBytes({ command: nested(path) })
      expect(out.exitCode).toBe(0)
      expect(Buffer.from(out.stdout).equals(Buffer.concat([Buffer.from(`${path}\0`), bytes]))).toBe(true)
    }
  })

  it("a leading UTF-8 byte order mark is output, not dropped, at the top level and through the nesting", async () => {
    const { host, ct } = setup()
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("key = välue\n", "utf8")])
    await ct.vfs.writeFile("/root/bom", bytes)
    expect(Buffer.from((await ct.execBytes({ command: "cat /root/bom" })).stdout).equals(bytes)).toBe(true)
    const out = await host.execBytes({ command: nested("/root/bom") })
    expect(Buffer.from(out.stdout).equals(Buffer.concat([Buffer.from("/root/bom\0"), bytes]))).toBe(true)
  })

  it("the patched byte count equals just-bash's own loop on any string, lone surrogates included", async () => {
    const entry = createRequire(import.meta.url).resolve("just-bash")
    const chunk = join(dirname(entry), "chunks", "chunk-GN6CQ3J4.js")
    const mod = (await import(pathToFileURL(chunk).href)) as { a: (t: string) => number }
    expect(mod.a("é😀")).toBe(6)
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), (s) => mod.a(s) === referenceUtf8Length(s)), { numRuns: 2000 })
    fc.assert(fc.property(fc.string({ unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)), maxLength: 50 }), (s) => mod.a(s) === referenceUtf8Length(s)))
  })
})
