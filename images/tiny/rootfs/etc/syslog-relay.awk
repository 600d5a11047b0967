# syslogd's ring holds "Nov  3 17:00:00 host authpriv.warn dropbear[123]: msg" (a 15-character
# timestamp first); the host gets RFC 3164: "<38>Nov  3 17:00:00 host dropbear[123]: msg".
BEGIN {
  n = split("kern user mail daemon auth syslog lpr news uucp cron authpriv ftp", f, " ")
  for (i = 1; i <= n; i++) fac[f[i]] = i - 1
  for (i = 0; i < 8; i++) fac["local" i] = 16 + i
  n = split("emerg alert crit err warn notice info debug", s, " ")
  for (i = 1; i <= n; i++) sev[s[i]] = i - 1
}
length($0) > 16 {
  stamp = substr($0, 1, 15)
  rest = substr($0, 17)
  host = rest; sub(/ .*/, "", host); sub(/^[^ ]* /, "", rest)
  fp = rest; sub(/ .*/, "", fp); sub(/^[^ ]* /, "", rest)
  split(fp, p, ".")
  pri = (p[1] in fac ? fac[p[1]] : 1) * 8 + (p[2] in sev ? sev[p[2]] : 5)
  printf "<%d>%s %s %s\n", pri, stamp, host, rest
  fflush()
}
