/**
 * Container file commands run in the C locale: GNU stat translates `%F` and its errors (LANGUAGE=de gives
 * "reguläre Datei", "Datei oder Verzeichnis nicht gefunden"), and `pct exec` passes the node session's
 * environment into the container. The exact script and argv the transport sends run here under a real
 * `sh`, with a `stat` on PATH that answers as a translated GNU stat does unless LC_ALL is C.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { PCT_READ_STATE_SCRIPT, PCT_STAT_ARGV } from "../src/GuestFiles.js"
import { parseStat } from "../src/internal/sshGuest.js"

/** A directory with a `stat` that translates like GNU's under LANGUAGE=de unless LC_ALL=C. */
const translatedStat = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "locale-"))
  const real = ["/usr/bin/stat", "/bin/stat"].find((p) => fs.existsSync(p))!
  fs.writeFileSync(
    path.join(dir, "stat"),
    [
      "#!/bin/sh",
      `if [ "\${LC_ALL:-}" = C ]; then exec ${real} "$@"; fi`,
      'for a; do last=$a; done',
      '[ -e "$last" ] || { echo "stat: der Aufruf von statx ist fehlgeschlagen: Datei oder Verzeichnis nicht gefunden" >&2; exit 1; }',
      `${real} "$@" | sed 's/^regular file/reguläre Datei/'`
    ].join("\n") + "\n",
    { mode: 0o755 }
  )
  return dir
}

const run = (argv: ReadonlyArray<string>, bin: string) =>
  spawnSync(argv[0]!, argv.slice(1), { env: { PATH: `${bin}:${process.env["PATH"] ?? "/usr/bin:/bin"}`, LANG: "de_DE.UTF-8", LANGUAGE: "de" }, encoding: "latin1" })

describe("container file commands in the C locale", () => {
  it("the shim translates as GNU stat does (the case below would fail without LC_ALL=C)", () => {
    const bin = translatedStat()
    expect(run(["stat", "-c", "%F|%s|%a|%u|%g", "--", "/etc/hosts"], bin).stdout).toMatch(/^regul/)
    expect(Buffer.from(run(["stat", "-c", "%F|%s|%a|%u|%g", "--", "/etc/hosts"], bin).stdout, "latin1").toString("utf8")).toMatch(/^reguläre Datei\|/)
  })

  it("the read-state script's stat line is the C locale's", () => {
    const bin = translatedStat()
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "state-")), "app.conf")
    fs.writeFileSync(file, "a = 1\n")
    const r = run(["sh", "-c", PCT_READ_STATE_SCRIPT, "sh", file, "1000"], bin)
    expect(r.status).toBe(0)
    const [resolved, statLine, content] = r.stdout.split("\0")
    expect(resolved).toBe(fs.realpathSync(file))
    expect(parseStat(statLine!)).toMatchObject({ type: "file", size: 6 })
    expect(content).toBe("a = 1\n")
  })

  it("pctStat's argv gives the C locale's line and English 'No such file'", () => {
    const bin = translatedStat()
    expect(parseStat(run([...PCT_STAT_ARGV, "/etc/hosts"], bin).stdout)).toMatchObject({ type: "file" })
    expect(run([...PCT_STAT_ARGV, "/no/such/file"], bin).stderr).toMatch(/No such file or directory/)
  })
})
