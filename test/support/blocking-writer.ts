/**
 * A Perl program that writes `blocks` blocks of `linesPerBlock` numbered lines of `lineBytes` bytes (`%08d xxx…\n`)
 * to its stdout, non-blocking, so it can tell where it is: `blocked N` in its progress file (its first argument)
 * while a write waits for its pipe to take more (N: the bytes its pipe took so far), `writing N` once it goes on,
 * `done N` at the end. It waits for its pipe as a blocking write would. `args` names its other arguments (Perl,
 * after `$progress`), `before` runs before the first write (Perl). For the store-outage tests: an agent whose
 * output the gateway stops reading blocks, and its progress file says so.
 */
export function blockingWriter(
  { blocks, linesPerBlock, lineBytes }: { blocks: number; linesPerBlock: number; lineBytes: number },
  { args = '', before = '' }: { args?: string; before?: string } = {},
): string {
  return `
use strict; use Fcntl;
my ($progress${args ? `, ${args}` : ''}) = @ARGV;
sub state { open(my $f, '>', "$progress.tmp") or die; print $f $_[0]; close $f; rename("$progress.tmp", $progress) or die }
${before}
my $flags = fcntl(STDOUT, F_GETFL, 0) or die; fcntl(STDOUT, F_SETFL, $flags | O_NONBLOCK) or die;
my $n = 0; my $line = 0;
for my $b (1..${blocks}) {
  my $block = '';
  for (1..${linesPerBlock}) { $line++; $block .= sprintf("%08d %s\\n", $line, 'x' x ${lineBytes - 10}) }
  my $off = 0;
  while ($off < length $block) {
    my $w = syswrite(STDOUT, $block, length($block) - $off, $off);
    if (defined $w) { $off += $w; $n += $w; next }
    die "write: $!" unless $!{EAGAIN};
    state("blocked $n");
    my $win = ''; vec($win, fileno(STDOUT), 1) = 1; select(undef, $win, undef, undef);
    state("writing $n");
  }
}
state("done $n");
`
}
