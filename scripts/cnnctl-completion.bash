# bash completion for cnnctl: verbs, each verb's options, files of the
# right kind, and SECTION.KEY= for --set (the sections of the config on the
# command line, with the keys cnnctl.ini(5) documents for them).
# make install puts it in $(PREFIX)/share/bash-completion/completions/cnnctl;
# or: source scripts/cnnctl-completion.bash

_cnnctl_settings_keys() {
    case $1 in
    data) echo "task ignore dir format train_images train_labels test_images test_labels label shape validation classes mean std on_bad_image" ;;
    train) echo "epochs iterations batch optimizer lr weight_decay momentum beta1 beta2 eps decay schedule" \
        "step_size gamma lr_min warmup seed threads log log_every checkpoint checkpoint_every keep best on_nan" ;;
    net) echo "init" ;;
    augment) echo "crop shift flip rotate brightness contrast saturation cutout" ;;
    *) # a layer: the keys of every layer type
        echo "type input filters size size_h size_w stride stride_h stride_w pad pad_h pad_w dilation" \
            "dilation_h dilation_w groups bias activation slope init rounding outputs rate momentum eps" \
            "alpha beta k output_pad output_pad_h output_pad_w scale scale_h scale_w mode offset offset_h" \
            "offset_w anchors coord_scale object_scale noobject_scale class_scale ignore_thresh" ;;
    esac
}

_cnnctl() {
    local cur prev verb config i
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    local verbs="train eval summary gradcheck bench predict viz filter plot compose export"
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "$verbs --help --version" -- "$cur"))
        return
    fi
    verb=${COMP_WORDS[1]}
    local opts
    case $verb in
    train) opts="--set --resume --threads --force --quiet --help" ;;
    eval) opts="--images --labels --json --confusion --predictions --threads --help" ;;
    summary) opts="--set --help" ;;
    gradcheck) opts="--set --images --entries --threads --help" ;;
    bench) opts="--threads --seconds --layers --help" ;;
    predict) opts="--top --invert --no-invert --threshold --nms --draw --alpha --json --threads --help" ;;
    viz) opts="--layer --output --input --maps --invert --no-invert --help" ;;
    filter) opts="--kernel --kernel-file --output --scale --help" ;;
    plot) opts="--output --title --size --help" ;;
    export) opts="--output --batch --help" ;;
    compose) opts="--images --labels --output --count --size --objects --scale --clutter --threshold --digits --seed" \
        opts="$opts --help" ;;
    *) return ;;
    esac
    case $prev in
    --kernel | -k)
        if [ "$verb" = filter ]; then
            COMPREPLY=($(compgen -W "identity edge1 edge2 edge3 sharpen box gauss" -- "$cur"))
            return
        fi ;;
    --scale) COMPREPLY=($(compgen -W "clamp abs stretch" -- "$cur")); return ;;
    --threads | -t | --top | --entries | --seconds | --title | --size | --count | --objects | --clutter | \
        --threshold | --seed | --digits | --nms | --alpha) return ;;
    --draw | -d) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --resume | -r) COMPREPLY=($(compgen -f -X '!*.ckpt*' -- "$cur")); return ;;
    --images | --labels) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --layer | -l)
        # the layer names of the checkpoint's config are not at hand; the
        # sections of a config given on the line are
        return ;;
    --set | -s)
        config=
        for ((i = 2; i < COMP_CWORD; i++)); do
            case ${COMP_WORDS[i]} in *.ini) config=${COMP_WORDS[i]} ;; esac
        done
        local sections="data train net augment" section key words=
        if [ -n "$config" ] && [ -r "$config" ]; then
            sections=$(sed -n 's/^[[:space:]]*\[\([^]]*\)\].*/\1/p' "$config" | sort -u)
        fi
        for section in $sections; do
            for key in $(_cnnctl_settings_keys "$section"); do
                words="$words $section.$key="
            done
        done
        compopt -o nospace 2>/dev/null
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
        return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    case $verb in
    train | summary | gradcheck | bench) COMPREPLY=($(compgen -f -X '!*.ini' -- "$cur")) ;;
    eval | predict | viz)
        if [ "$COMP_CWORD" -eq 2 ]; then
            COMPREPLY=($(compgen -f -X '!*.ckpt*' -- "$cur"))
        else
            COMPREPLY=($(compgen -f -- "$cur"))
        fi ;;
    plot) COMPREPLY=($(compgen -f -X '!*.csv' -- "$cur")) ;;
    *) COMPREPLY=($(compgen -f -- "$cur")) ;;
    esac
    # folders, to walk into
    COMPREPLY+=($(compgen -d -S / -- "$cur"))
    compopt -o nospace 2>/dev/null
}
complete -F _cnnctl cnnctl
