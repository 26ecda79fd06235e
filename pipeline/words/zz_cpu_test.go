package words
import ("testing";"syscall";"time";"fmt")
func cpuNow() time.Duration { var ru syscall.Rusage; syscall.Getrusage(syscall.RUSAGE_SELF,&ru); return time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) }
func TestZZCPU(t *testing.T){
  rows:=loadGolden(t); var texts []string; var n int
  for _,r:=range rows{texts=append(texts,*r.Text); n+=len(*r.Text)}
  for _,name:=range []string{"words","count"}{
   for rep:=0;rep<2;rep++{
    c0:=cpuNow(); w0:=time.Now()
    for it:=0;it<5;it++{ for _,s:=range texts{ if name=="words"{_=Words(s)}else{_=CountSentences(s)} } }
    c:=cpuNow()-c0; w:=time.Since(w0)
    fmt.Printf("%s: cpu %.1f MB/s (%.0f docs/s, %.3f ms per 10KB), wall %.1f MB/s\n", name, float64(5*n)/c.Seconds()/1e6, float64(5*len(texts))/c.Seconds(), c.Seconds()*1000/float64(5*n)*10240, float64(5*n)/w.Seconds()/1e6)
   }
  }
}
