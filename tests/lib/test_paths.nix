# Input-addressed store paths for the shell tests, built by the real Nix into
# a chroot store (harness.sh: build_paths FILE). FILE is a function of
# `testlib` (this file) whose attributes are the paths to build, e.g.
#   { testlib }: let inherit (import testlib) mk dep mid; in { top = mk "top" "mkdir $out; echo ${mid} > $out/mid"; }
#   mk NAME CMD  the derivation nixedge-test-NAME: /bin/sh -c CMD with PATH=/bin:/usr/bin, set -e
#   dep          a tree: nested dirs, a file, an empty file, an executable, a
#                relative symlink, and a 6 MB file of random bytes (several chunks)
#   mid          refers to dep (a file naming it, a symlink into it)
#   small NAME   a directory holding 5000 random bytes (one chunk), no references
rec {
  mk = name: cmd: derivation {
    name = "nixedge-test-${name}"; system = builtins.currentSystem; builder = "/bin/sh";
    args = [ "-c" ("export PATH=/bin:/usr/bin; set -e; " + cmd) ];
  };
  dep = mk "dep" ''
    mkdir -p $out/sub/deeper $out/bin
    echo hello > $out/sub/deeper/file
    : > $out/empty
    printf '#!/bin/sh\necho hi\n' > $out/bin/run; chmod +x $out/bin/run
    ln -s sub/deeper/file $out/link
    head -c 6000000 /dev/urandom > $out/big
  '';
  mid = mk "mid" "mkdir $out; echo ${dep} > $out/dep; ln -s ${dep}/bin/run $out/run";
  small = name: mk name "mkdir $out; head -c 5000 /dev/urandom > $out/data";
}
