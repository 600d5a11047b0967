#!/usr/bin/env node
// The `twarga` command. A committed file (not dist/main.js itself) so that npm links the bin
// even when `npm ci` runs before `npm run build` has made dist/ (npm skips missing bin targets).
import '../dist/main.js';
