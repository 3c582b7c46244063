package transport

import "syscall"

// sysSENDMMSG is sendmmsg(2)'s number.
const sysSENDMMSG = syscall.SYS_SENDMMSG
