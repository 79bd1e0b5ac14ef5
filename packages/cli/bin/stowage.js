#!/usr/bin/env node
'use strict';
// The compiled program (npm run build). A plain file in the package so that npm links the
// `stowage` bin at install time, before anything is built.
require('../dist/bin.js');
