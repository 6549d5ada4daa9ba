#!/usr/bin/env node
// The `patchbay` command. Patchbay runs its TypeScript directly on Node 24's type stripping.
import "../src/cli/main.ts";
