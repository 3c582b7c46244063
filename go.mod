module github.com/sipd/sipd

go 1.26
