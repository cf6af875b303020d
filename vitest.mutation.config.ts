// The core project alone, for mutation testing (`pnpm mutate`, docs/mutation-testing.md): Stryker's
// vitest runner takes one config file and cannot pick a project out of vitest.config.ts. Same root,
// include, setup and timeouts as the `core` project there.
import type { RunnerTestCase } from "vitest"
import { defineConfig } from "vitest/config"
import type { Reporter } from "vitest/reporters"

/**
 * A test file that fails to load (a mutant in module-level code that throws on import) holds no test,
 * and Stryker's vitest runner (9.6.1) builds a mutant's verdict from the tests it finds only, so such a
 * mutant counted as survived with 0 tests run. This reporter gives each such file one failed test
 * carrying the load error, so the mutant is killed (and a dry run with an unloadable file fails).
 */
const unloadableFileFails: Reporter = {
  onFinished(files) {
    for (const file of files ?? []) {
      if (file.result?.state !== "fail" || file.tasks.length > 0) continue
      // vitest types a test with a context only its runner builds; nothing reads it after the run
      const failed = {
        type: "test",
        id: `${file.id}_load`,
        name: "(test file failed to load)",
        mode: "run",
        file,
        suite: file,
        meta: {},
        annotations: [],
        timeout: 0,
        result: { state: "fail", errors: file.result.errors ?? [] }
      } as unknown as RunnerTestCase
      file.tasks.push(failed)
    }
  }
}

export default defineConfig({
  test: {
    name: "core",
    root: new URL("./packages/core", import.meta.url).pathname,
    include: ["test/**/*.test.ts"],
    setupFiles: [new URL("./vitest.setup.ts", import.meta.url).pathname],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default", unloadableFileFails]
  }
})
