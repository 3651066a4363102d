#!/usr/bin/env node
// Committed shim so npm can link the bin before `tsc -b` has produced dist/.
require('../dist/main.js');
