#!/usr/bin/env python3
# gradcheck-mutations.py [DATA_DIR] [NAME...]: does `cnnctl gradcheck` still
# catch a wrong gradient in each layer type? Each mutation below puts a
# small error (mostly 5%) into one backward pass, rebuilds ./cnnctl, runs
# gradcheck on a shipped config that runs that code, expects exit 1, and
# restores the source. Run from the project's root on a clean tree; DATA_DIR
# defaults to ../shared/datasets/fashion-mnist. NAME picks mutations whose
# name contains it.
import os, subprocess, sys
os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
args = sys.argv[1:]
data = args.pop(0) if args and os.path.isdir(args[0]) else '../shared/datasets/fashion-mnist'
D = f"--set data.dir='{os.path.abspath(data)}'"
M=[
 ("conv weight gradient","src/net/layer_conv.c","            dweight[e] = sum[0];","            dweight[e] = sum[0] * 1.05f;",["lenet5","vgg"]),
 ("conv bias gradient","src/net/layer_conv.c","            dbias[e - (long)F * taps] = sum[0];","            dbias[e - (long)F * taps] = sum[0] * 1.05f;",["lenet5"]),
 ("conv input gradient (col2im)","src/net/layer_conv.c","                gemm_serial(gb, GEMM_T, GEMM_N, taps, P, Fg, 1.0f, wgt, taps, dyg, P, 0.0f, dcol, P);","                gemm_serial(gb, GEMM_T, GEMM_N, taps, P, Fg, 1.05f, wgt, taps, dyg, P, 0.0f, dcol, P);",["alexnet||CNNCTL_GEMM_KERNEL=generic"]),
 ("depthwise weight gradient","src/net/conv_depthwise.c","                            sum += drow[ox] * s1[ox];","                            sum += 1.05f * drow[ox] * s1[ox];",["xception"]),
 ("affine weight gradient","src/net/layer_affine.c","    gemm(run->gemm, GEMM_T, GEMM_N, D, O, n, 1.0f, x, D,","    gemm(run->gemm, GEMM_T, GEMM_N, D, O, n, 1.05f, x, D,",["lenet5"]),
 ("affine bias gradient","src/net/layer_affine.c","                dbias[j] += dy[i * O + j];","                dbias[j] += 1.05f * dy[i * O + j];",["simple"]),
 ("affine input gradient","src/net/layer_affine.c","        gemm(run->gemm, GEMM_N, GEMM_T, run->n, D, O, 1.0f, l->dy","        gemm(run->gemm, GEMM_N, GEMM_T, run->n, D, O, 1.05f, l->dy",["lenet5"]),
 ("batchnorm gamma gradient","src/net/layer_batchnorm.c","        dgamma[ch] = (float)sum_dy_xhat;","        dgamma[ch] = 1.05f * (float)sum_dy_xhat;",["vgg"]),
 ("batchnorm input gradient","src/net/layer_batchnorm.c","                    dxs[p] = k * (fM * dys[p] - s_dy - hs[p] * s_dy_xhat);","                    dxs[p] = k * (fM * dys[p] - hs[p] * s_dy_xhat);",["vgg"]),
 ("lrn input gradient (own term)","src/net/layer_lrn.c","                float v = dy[e] * powf(s[e], -c->beta) - coef * x[e] * sum;","                float v = 1.05f * dy[e] * powf(s[e], -c->beta) - coef * x[e] * sum;",["alexnet"]),
 ("lrn input gradient (neighbours)","src/net/layer_lrn.c","                    sum += dy[q * HW + p] * y[q * HW + p] / s[q * HW + p];","                    sum += 1.05f * dy[q * HW + p] * y[q * HW + p] / s[q * HW + p];",["alexnet|--set norm1.alpha=1 --set norm2.alpha=1"]),
 ("add input gradient","src/net/layer_merge.c","            memcpy(dx, dy, sizeof(float) * count);\n            continue;","            for (long e = 0; e < count; e++) dx[e] = 1.05f * dy[e];\n            continue;",["resnet"]),
 ("concat input gradient","src/net/layer_merge.c","                memcpy(dx, dy, sizeof(float) * part);","                memcpy(dx, dy, sizeof(float) * (part - 1));",["googlenet"]),
 ("scale input gradient (maps)","src/net/layer_merge.c","dy[p] * w : dx[p] + dy[p] * w;","dy[p] * w * 1.05f : dx[p] + dy[p] * w * 1.05f;",["senet"]),
 ("scale input gradient (weights)","src/net/layer_merge.c","                    sum += dy[p] * x[p];","                    sum += 1.05f * dy[p] * x[p];",["senet"]),
 ("softmax loss gradient","src/net/layer_softmax.c","            float g = (p[k] - (k == run->labels[i] ? 1.0f : 0.0f)) * scale;","            float g = (p[k] - (k == run->labels[i] ? 1.05f : 0.0f)) * scale;",["lenet5"]),
 ("dropout mask ignored","src/net/layer_dropout.c","        float g = masked ? dy[e] * m[e] : dy[e];","        float g = dy[e];",["alexnet"]),
 ("globalavgpool input gradient","src/net/layer_pool.c","        float g = dy[m] / HW;","        float g = dy[m] / (HW + 1);",["googlenet"]),
 ("avgpool input gradient","src/net/layer_pool.c","                float g = dy[oy * out.w + ox] * inv_area;","                float g = dy[oy * out.w + ox] * inv_area * 1.05f;",["simple|--set pool1.type=avgpool"]),
 ("relu gradient (relu')","src/net/activation.c","            dx[i] = y[i] > 0.0f ? g : 0.0f;","            dx[i] = y[i] > 0.0f ? g : 0.05f * g;",["vgg"]),
 ("sigmoid derivative","src/net/activation.c","    case ACT_SIGMOID: return y * (1.0f - y);","    case ACT_SIGMOID: return 1.05f * y * (1.0f - y);",["senet"]),
]
only = args
missed = 0
for name,f,old,new,cfgs in M:
    if only and not any(o in name for o in only): continue
    src=open(f).read()
    if src.count(old)!=1:
        print(f"{name}: snippet found {src.count(old)} times (the code moved: update this script)")
        missed += 1
        continue
    open(f,'w').write(src.replace(old,new))
    try:
        r=subprocess.run("make -j2 cnnctl",shell=True,capture_output=True,text=True)
        if r.returncode: print(name, "build failed", r.stderr[-300:]); continue
        for spec in cfgs:
            c,extra,env=(spec.split('|')+['',''])[:3]
            r=subprocess.run(f"{env} ./cnnctl gradcheck configs/{c}.ini {D} {extra}",shell=True,capture_output=True,text=True)
            last=r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr
            missed += r.returncode != 1
            print(f"{name:32s} {spec:10s} exit {r.returncode}  {last}", flush=True)
    finally:
        open(f,'w').write(src)
subprocess.run("make -j2 cnnctl", shell=True, capture_output=True)
print(f"{missed} mutation runs not caught")
sys.exit(1 if missed else 0)
