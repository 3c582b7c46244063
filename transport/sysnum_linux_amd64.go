package transport

// sysSENDMMSG is sendmmsg(2)'s number; package syscall has none for amd64.
const sysSENDMMSG = 307
