#!/bin/sh
# Lists source files under $1 that have no sibling *.test.* file.
for f in $(find "${1:-.}" -name '*.ts' ! -name '*.test.ts'); do
  [ -e "${f%.ts}.test.ts" ] || echo "untested: $f"
done
