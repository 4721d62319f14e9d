#!/usr/bin/env bash
# Fails when the index holds a file that does not belong in the repository:
# a binary (an ELF or Mach-O build output, an archive, an image…) outside a
# testdata/ directory, or any file over 1 MB. Build outputs are ignored by
# .gitignore; this catches the one added with `git add -f` or before the
# ignore rule existed. The largest legitimate files (the generated CRDs) are
# about 200 KB.
set -o errexit -o nounset -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
MAX_BYTES=${MAX_BYTES:-1048576}
EMPTY_TREE=$(git hash-object -t tree /dev/null)
status=0

# Sizes of the blobs in the index (what a commit would record), not of the
# files in the work tree.
while read -r size path; do
  if [ "$size" -gt "$MAX_BYTES" ]; then
    echo "tracked file over $MAX_BYTES bytes: $path ($size bytes)" >&2
    status=1
  fi
done < <(git ls-files --stage | grep -v '^160000 ' |
  sed -E 's/^[0-7]+ ([0-9a-f]+) [0-9]+\t/\1 /' |
  git cat-file --batch-check='%(objectsize) %(rest)')

# Git's own test for binary content (a NUL byte in the first 8 KB, or a
# -diff/binary attribute): numstat prints "-" for added lines of such a file.
while IFS= read -r -d '' entry; do
  path=${entry#*$'\t'*$'\t'}
  case "$entry" in
    -$'\t'-$'\t'*) ;;
    *) continue ;;
  esac
  case "/$path" in
    */testdata/*) continue ;;
  esac
  echo "tracked binary file: $path (build outputs belong in bin/ or _output/, which .gitignore ignores)" >&2
  status=1
done < <(git diff --cached --numstat -z --no-renames "$EMPTY_TREE")

if [ "$status" -ne 0 ]; then
  echo "remove them from the index with 'git rm --cached <file>'" >&2
  exit 1
fi
