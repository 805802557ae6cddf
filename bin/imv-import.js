#!/usr/bin/env node
'use strict';
// The CLI is compiled TypeScript (npm run build); this shim keeps the bin path stable.
require('../dist/cli/main.js').main();
